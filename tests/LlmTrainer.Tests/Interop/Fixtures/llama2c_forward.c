/*
 * A reader of llama2.c's legacy (version 0) model file and its tokenizer.bin, written from the format description
 * alone, for the llmtrain tests. It runs the model as run.c does, one position at a time with a key/value cache:
 * RMSNorm (eps 1e-5), rotary embeddings on adjacent pairs (2i, 2i+1) from the file's freq_cis tables, grouped-query
 * attention, SwiGLU, and the classifier (the embedding when vocab_size is positive).
 *
 *   llama2c_forward MODEL.bin TOKENIZER.bin ID...
 *
 * prints one line of vocab_size logits per position, then "bytes" and the hex of the ids' token bytes concatenated.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *take(float **cursor, long n) { float *p = *cursor; *cursor += n; return p; }

static void rmsnorm(float *out, const float *x, const float *w, int n) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = 1.0f / sqrtf((float)(ss / n) + 1e-5f);
    for (int i = 0; i < n; i++) out[i] = w[i] * (x[i] * scale);
}

/* out (rows) = W (rows x cols) · x (cols) */
static void matvec(float *out, const float *w, const float *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += (double)w[(long)r * cols + c] * x[c];
        out[r] = (float)s;
    }
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL.bin TOKENIZER.bin ID...\n", argv[0]); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    int h[7];
    if (fread(h, sizeof(int), 7, f) != 7) { fprintf(stderr, "short header\n"); return 1; }
    int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], vocab = abs(h[5]), seq_len = h[6];
    int shared = h[5] > 0, head_size = dim / heads, kv_dim = kv_heads * head_size;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f) - 28;
    fseek(f, 28, SEEK_SET);
    float *data = malloc(bytes);
    if (fread(data, 1, bytes, f) != (size_t)bytes) { fprintf(stderr, "short read\n"); return 1; }
    fclose(f);

    float *cur = data;
    float *emb = take(&cur, (long)vocab * dim);
    float *rms_att = take(&cur, (long)layers * dim);
    float *wq = take(&cur, (long)layers * dim * dim);
    float *wk = take(&cur, (long)layers * kv_dim * dim);
    float *wv = take(&cur, (long)layers * kv_dim * dim);
    float *wo = take(&cur, (long)layers * dim * dim);
    float *rms_ffn = take(&cur, (long)layers * dim);
    float *w1 = take(&cur, (long)layers * hidden * dim);
    float *w2 = take(&cur, (long)layers * dim * hidden);
    float *w3 = take(&cur, (long)layers * hidden * dim);
    float *rms_final = take(&cur, dim);
    float *freq_real = take(&cur, (long)seq_len * head_size / 2);
    float *freq_imag = take(&cur, (long)seq_len * head_size / 2);
    float *wcls = shared ? emb : take(&cur, (long)vocab * dim);
    if ((char *)cur - (char *)data != bytes) { fprintf(stderr, "file size does not match the header\n"); return 1; }

    int n = argc - 3;
    if (n > seq_len) { fprintf(stderr, "%d ids do not fit the context of %d\n", n, seq_len); return 1; }
    int *ids = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) {
        ids[i] = atoi(argv[3 + i]);
        if (ids[i] < 0 || ids[i] >= vocab) { fprintf(stderr, "id %d is outside the vocabulary\n", ids[i]); return 1; }
    }

    float *x = calloc(dim, 4), *xb = calloc(dim, 4), *q = calloc(dim, 4), *att = calloc(seq_len, 4);
    float *hb = calloc(hidden, 4), *hb2 = calloc(hidden, 4), *logits = calloc(vocab, 4), *y = calloc(dim, 4);
    float *kcache = calloc((long)layers * seq_len * kv_dim, 4), *vcache = calloc((long)layers * seq_len * kv_dim, 4);
    for (int pos = 0; pos < n; pos++) {
        memcpy(x, emb + (long)ids[pos] * dim, dim * 4);
        for (int l = 0; l < layers; l++) {
            rmsnorm(xb, x, rms_att + (long)l * dim, dim);
            float *k = kcache + ((long)l * seq_len + pos) * kv_dim, *v = vcache + ((long)l * seq_len + pos) * kv_dim;
            matvec(q, wq + (long)l * dim * dim, xb, dim, dim);
            matvec(k, wk + (long)l * kv_dim * dim, xb, kv_dim, dim);
            matvec(v, wv + (long)l * kv_dim * dim, xb, kv_dim, dim);
            /* rotate each adjacent pair (2i, 2i+1) of every head by pos * freq_i */
            for (int i = 0; i < dim; i += 2) {
                int pair = (i % head_size) / 2;
                float fr = freq_real[pos * head_size / 2 + pair], fi = freq_imag[pos * head_size / 2 + pair];
                float a = q[i], b = q[i + 1];
                q[i] = a * fr - b * fi;
                q[i + 1] = a * fi + b * fr;
                if (i < kv_dim) {
                    a = k[i]; b = k[i + 1];
                    k[i] = a * fr - b * fi;
                    k[i + 1] = a * fi + b * fr;
                }
            }
            for (int hd = 0; hd < heads; hd++) {
                int kvh = hd / (heads / kv_heads);
                float *qh = q + hd * head_size, max = -INFINITY;
                for (int t = 0; t <= pos; t++) {
                    float *kt = kcache + ((long)l * seq_len + t) * kv_dim + kvh * head_size;
                    double s = 0;
                    for (int i = 0; i < head_size; i++) s += (double)qh[i] * kt[i];
                    att[t] = (float)(s / sqrt((double)head_size));
                    if (att[t] > max) max = att[t];
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) { att[t] = expf(att[t] - max); sum += att[t]; }
                for (int i = 0; i < head_size; i++) {
                    double s = 0;
                    for (int t = 0; t <= pos; t++) s += (double)att[t] / sum * vcache[((long)l * seq_len + t) * kv_dim + kvh * head_size + i];
                    y[hd * head_size + i] = (float)s;
                }
            }
            matvec(xb, wo + (long)l * dim * dim, y, dim, dim);
            for (int i = 0; i < dim; i++) x[i] += xb[i];
            rmsnorm(xb, x, rms_ffn + (long)l * dim, dim);
            matvec(hb, w1 + (long)l * hidden * dim, xb, hidden, dim);
            matvec(hb2, w3 + (long)l * hidden * dim, xb, hidden, dim);
            for (int i = 0; i < hidden; i++) hb[i] = hb[i] / (1.0f + expf(-hb[i])) * hb2[i];
            matvec(xb, w2 + (long)l * dim * hidden, hb, dim, hidden);
            for (int i = 0; i < dim; i++) x[i] += xb[i];
        }
        rmsnorm(xb, x, rms_final, dim);
        matvec(logits, wcls, xb, vocab, dim);
        for (int i = 0; i < vocab; i++) printf(i ? " %.9g" : "%.9g", logits[i]);
        printf("\n");
    }

    /* tokenizer.bin: int max_token_length, then per token: float score, int length, bytes */
    FILE *tf = fopen(argv[2], "rb");
    if (!tf) { perror(argv[2]); return 1; }
    int max_len;
    if (fread(&max_len, 4, 1, tf) != 1) return 1;
    char **tokens = malloc(vocab * sizeof(char *));
    int *lens = malloc(vocab * sizeof(int));
    for (int i = 0; i < vocab; i++) {
        float score;
        if (fread(&score, 4, 1, tf) != 1 || fread(&lens[i], 4, 1, tf) != 1 || lens[i] < 0 || lens[i] > max_len) {
            fprintf(stderr, "bad tokenizer entry %d\n", i); return 1;
        }
        tokens[i] = malloc(lens[i] + 1);
        if (fread(tokens[i], 1, lens[i], tf) != (size_t)lens[i]) return 1;
    }
    if (fgetc(tf) != EOF) { fprintf(stderr, "tokenizer.bin has bytes after its last token\n"); return 1; }
    fclose(tf);
    printf("bytes ");
    for (int p = 0; p < n; p++)
        for (int i = 0; i < lens[ids[p]]; i++) printf("%02x", (unsigned char)tokens[ids[p]][i]);
    printf("\n");
    return 0;
}
