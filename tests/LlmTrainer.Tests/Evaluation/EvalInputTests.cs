using LlmTrainer.Config;
using LlmTrainer.Data;
using LlmTrainer.Evaluation;
using LlmTrainer.Tests.Data;
using LlmTrainer.Tokenization;

namespace LlmTrainer.Tests.Evaluation;

public sealed class EvalInputTests : IDisposable
{
    private static readonly Tokenizer Tokenizer = Tokenizer.Train(new SyntheticStories(3).Stories(50), 300);
    private readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    private static int[] Read(TokenStream stream)
    {
        var tokens = new int[stream.Length];
        stream.CopyTo(0, tokens);
        return tokens;
    }

    private static int[] AsPrepared(params string[] documents) =>
        documents.SelectMany(d => new[] { Tokenizer.BosId }.Concat(Tokenizer.Encode(d))).ToArray();

    [Fact]
    public void A_text_file_is_split_into_documents_as_prepare_reads_txt_input()
    {
        var path = dir.Write("a.txt", "Once upon a time.\r\nThe end.\n<|endoftext|>\n\n  Tom ran.  \n<|endoftext|>\n");
        using var input = EvalInput.Text(path, Tokenizer);
        var stream = Assert.Single(input.Streams);
        Assert.Equal(AsPrepared("Once upon a time.\nThe end.", "Tom ran."), Read(stream));
        Assert.Equal($"text {Path.GetFullPath(path)}", input.Description);
    }

    [Fact]
    public void A_text_file_without_separators_is_one_document()
    {
        var path = dir.Write("b.txt", "Lily saw a dog. It was big.");
        using var input = EvalInput.Text(path, Tokenizer);
        Assert.Equal(AsPrepared("Lily saw a dog. It was big."), Read(input.Streams[0]));
    }

    [Fact]
    public void Max_tokens_stops_encoding_once_enough_tokens_are_in_hand()
    {
        var stories = new SyntheticStories(9).Stories(200).ToArray();
        var path = dir.Write("c.txt", string.Join("\n<|endoftext|>\n", stories));
        using var all = EvalInput.Text(path, Tokenizer);
        using var some = EvalInput.Text(path, Tokenizer, maxTokens: 50);
        Assert.True(some.Tokens > 50);
        Assert.True(some.Tokens < all.Tokens / 10);
        Assert.Equal(Read(all.Streams[0]).Take((int)some.Tokens), Read(some.Streams[0]));
    }

    [Fact]
    public void Empty_missing_and_blank_text_files_are_errors()
    {
        var empty = dir.Write("empty.txt", "");
        Assert.Contains("is empty", Assert.Throws<LlmTrainerException>(() => EvalInput.Text(empty, Tokenizer)).Message);
        var blank = dir.Write("blank.txt", "\n  \n<|endoftext|>\n\n");
        Assert.Contains("nothing to evaluate", Assert.Throws<LlmTrainerException>(() => EvalInput.Text(blank, Tokenizer)).Message);
        Assert.Contains("does not exist", Assert.Throws<LlmTrainerException>(() => EvalInput.Text(dir.File("nope.txt"), Tokenizer)).Message);
        Assert.Contains("is a directory", Assert.Throws<LlmTrainerException>(() => EvalInput.Text(dir.Path, Tokenizer)).Message);
    }

    [Fact]
    public void A_split_of_prepared_data_reads_its_shards_as_one_stream()
    {
        var data = dir.File("data");
        PreparedFixture.Write(data, [1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11], 300, Tokenizer.Hash, shardTokens: 2);
        using var val = EvalInput.Split(DataSpec.FromPath(data), "val", Tokenizer);
        Assert.Equal([7, 8, 9, 10, 11], Read(Assert.Single(val.Streams)));
        Assert.Equal($"val split of {Path.GetFullPath(data)}", val.Description);
        using var train = EvalInput.Split(DataSpec.FromPath(data), "train", Tokenizer);
        Assert.Equal([1, 2, 3, 4, 5, 6], Read(train.Streams[0]));
    }

    [Fact]
    public void A_split_that_was_not_prepared_names_the_directory_the_shards_and_the_command()
    {
        var data = dir.File("noval");
        PreparedFixture.Write(data, [1, 2, 3], [], 300, Tokenizer.Hash);
        Assert.Empty(DatasetMeta.Load(data).Val.Shards);
        var e = Assert.Throws<LlmTrainerException>(() => EvalInput.Split(DataSpec.FromPath(data), "val", Tokenizer));
        Assert.Contains($"the val split of {data} is not prepared", e.Message);
        Assert.Contains("val_*.bin", e.Message);
        Assert.Contains($"llmtrain prepare --input test --tokenizer {Path.Combine(data, "tokenizer.json")} --out NEW_DIR --val-fraction", e.Message);
        Assert.Contains("--text FILE", e.Message);
    }

    [Fact]
    public void A_missing_shard_file_is_named()
    {
        var data = dir.File("gone");
        var meta = PreparedFixture.Write(data, [1, 2, 3], [4, 5, 6], 300, Tokenizer.Hash);
        var shard = Path.Combine(data, meta.Val.Shards[0].File);
        File.Delete(shard);
        var e = Assert.Throws<LlmTrainerException>(() => EvalInput.Split(DataSpec.FromPath(data), "val", Tokenizer));
        Assert.Contains($"{shard} is missing", e.Message);
        Assert.Contains("llmtrain prepare", e.Message);
    }

    [Fact]
    public void Data_of_another_tokenizer_and_unknown_splits_are_refused()
    {
        var data = dir.File("other");
        PreparedFixture.Write(data, [1, 2, 3], [4, 5, 6], 300, "another-hash");
        var e = Assert.Throws<LlmTrainerException>(() => EvalInput.Split(DataSpec.FromPath(data), "val", Tokenizer));
        Assert.Contains("another-hash", e.Message);
        Assert.Throws<LlmTrainerException>(() => EvalInput.Split(DataSpec.FromPath(data), "test", Tokenizer));
        Assert.Contains("does not exist", Assert.Throws<LlmTrainerException>(
            () => EvalInput.Split(DataSpec.FromPath(dir.File("missing")), "val", Tokenizer)).Message);
    }
}
