using LlmTrainer.Torch;

namespace LlmTrainer.Model;

/// <summary>
/// Which document each token of packed ids belongs to, for document masking: every document starts with the
/// separator id (end-of-text), so a token's document is the number of separators at or before it (tokens before the
/// first separator belong to a document that began before the window). Rotary positions need no reset: RoPE makes
/// attention scores depend only on the distance between query and key, so a document attending only to itself
/// computes what it would alone from position 0 (the tests check this against a document-by-document reference).
/// </summary>
internal static class DocumentLayout
{
    /// <summary>
    /// Document ids ((B, T) int64) of ids (B, T), continuing from the document of the position before
    /// (<paramref name="previousDocument"/>, (B, 1); null at position 0).
    /// </summary>
    public static Tensor Of(Tensor idx, long separator, Tensor? previousDocument)
    {
        var documents = idx.eq(separator).to(ScalarType.Int64).cumsum(1);
        return previousDocument is null ? documents : documents + previousDocument;
    }

    /// <summary>
    /// The boolean attention mask (B, 1, T, S) of queries at positions startPos.. (documents <paramref name="queryDocument"/>,
    /// (B, T)) over keys at positions 0..S-1 (documents <paramref name="keyDocument"/>, (B, S)): causal, and only within
    /// the same document. Broadcast over heads.
    /// </summary>
    public static Tensor Mask(Tensor queryDocument, Tensor keyDocument, long startPos)
    {
        long t = queryDocument.size(1), s = keyDocument.size(1);
        var causal = torch.ones([t, s], ScalarType.Bool, queryDocument.device).tril(startPos);
        return queryDocument.unsqueeze(2).eq(keyDocument.unsqueeze(1)).logical_and(causal).unsqueeze(1);
    }
}
