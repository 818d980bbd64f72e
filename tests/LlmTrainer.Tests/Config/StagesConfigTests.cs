using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class StagesConfigTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static TrainConfig Load(string[] args, string? config = null, bool checkPaths = true) =>
        ConfigLoader.Load(args, new ConfigLoadOptions { Config = config, Environment = new Dictionary<string, string>(), CheckDataPaths = checkPaths }).Config;

    private static string Error(string[] args, string? config = null, bool checkPaths = false) =>
        Assert.Throws<LlmTrainerException>(() => Load(args, config, checkPaths)).Message;

    [Theory]
    [InlineData("3000", 3000L, false)]
    [InlineData("3000 steps", 3000L, false)]
    [InlineData("1 step", 1L, false)]
    [InlineData("2k", 2000L, false)]
    [InlineData("500M tokens", 500_000_000L, true)]
    [InlineData("1.5B tokens", 1_500_000_000L, true)]
    [InlineData("2e9 tokens", 2_000_000_000L, true)]
    [InlineData(" 12345 TOKENS ", 12345L, true)]
    [InlineData("2.01M tokens", 2_010_000L, true)]
    [InlineData("2.05B tokens", 2_050_000_000L, true)]
    [InlineData("4.07k", 4070L, false)]
    public void Stage_ends_read_steps_and_tokens(string text, long value, bool tokens) =>
        Assert.Equal(new StageEnd(value, tokens), StageEnd.Parse(text));

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("10 bananas")]
    [InlineData("tokens")]
    [InlineData("1e30 tokens")]
    [InlineData("1e18T tokens")]
    [InlineData("2.0000001k")]
    [InlineData("")]
    public void Stage_ends_that_are_not_whole_positive_counts_are_none(string text) => Assert.Null(StageEnd.Parse(text));

    [Fact]
    public void Token_ends_round_up_to_whole_steps() =>
        Assert.Equal(4, new StageEnd(1000, InTokens: true).Step(tokensPerStep: 256));

    [Fact]
    public void Stages_from_a_file_keep_order_ends_and_mixtures_and_render_back_to_the_same_config()
    {
        var a = _files.MakeDirectory("a");
        var b = _files.MakeDirectory("b");
        var path = _files.Write("staged.json", $$"""
            { "max_iters": 9000, "stages": [
                { "until": 3000, "data": "{{a}}" },
                { "until": 6000, "data": [ { "path": "{{a}}", "weight": 1 }, { "path": "{{b}}", "weight": 3 } ] },
                { "data": "{{b}}" } ] }
            """);
        var config = Load([], path);
        var stages = config.Stages.Items;
        Assert.Equal(3, stages.Count);
        Assert.Equal(new StageEnd(3000, false), stages[0].Until);
        Assert.Equal(DataSpec.FromPath(a), stages[0].Data);
        Assert.Equal(DataSpec.Mixture([new DataSource(a, 1), new DataSource(b, 3)]), stages[1].Data);
        Assert.Null(stages[2].Until);
        Assert.Equal([a, b], config.Stages.Paths());

        var rendered = _files.Write("rendered.json", ConfigJson.Render(config));
        Assert.DoesNotContain("\"data\": \"builtin\"", File.ReadAllText(rendered));
        Assert.Equal(config, Load([], rendered));
    }

    [Fact]
    public void Stages_on_the_command_line_are_one_JSON_list_and_token_ends_render_with_their_unit()
    {
        var config = Load(["--stages", """[{"until": "200M tokens", "data": "x"}, {"data": ["x", {"path": "y", "weight": 0.5}]}]"""], checkPaths: false);
        Assert.Equal(new StageEnd(200_000_000, true), config.Stages.Items[0].Until);
        Assert.Equal(DataSpec.Mixture([new DataSource("x", 1), new DataSource("y", 0.5)]), config.Stages.Items[1].Data);
        Assert.Contains("\"until\": \"200000000 tokens\"", ConfigJson.Render(config));
        var path = _files.Write("tokens.json", ConfigJson.Render(config));
        Assert.Equal(config.Stages, Load([], path, checkPaths: false).Stages);
    }

    [Fact]
    public void A_directory_spelled_two_ways_is_one_of_the_stages_paths()
    {
        var a = _files.MakeDirectory("a");
        var config = Load(["--stages", $$"""[{"until": 10, "data": "{{a}}"}, {"data": "{{a + Path.DirectorySeparatorChar}}"}]"""]);
        Assert.Equal([a], config.Stages.Paths());
    }

    [Fact]
    public void Without_stages_the_rendering_and_hash_do_not_change()
    {
        var config = Load([], checkPaths: false);
        Assert.True(config.Stages.IsEmpty);
        Assert.DoesNotContain("stages", ConfigJson.Render(config));
    }

    [Theory]
    [InlineData("""[{"until": 100, "data": "a"}, {"until": 200, "data": "b"}]""", "stage 2 is the last and has until 200")]
    [InlineData("""[{"data": "a"}, {"data": "b"}]""", "stage 1 has no until")]
    [InlineData("""[{"until": 200, "data": "a"}, {"until": 100, "data": "b"}, {"data": "c"}]""", "stage 2 ends at 100, not after stage 1 (200)")]
    [InlineData("""[{"until": 200, "data": "a"}, {"until": "1M tokens", "data": "b"}, {"data": "c"}]""", "same unit")]
    [InlineData("""[{"until": 100, "data": "a", "weight": 2}, {"data": "b"}]""", "stage 1 has an unknown field 'weight'")]
    [InlineData("""[{"until": "soon", "data": "a"}, {"data": "b"}]""", "stage 1 has until \"soon\", which is not a whole positive count")]
    [InlineData("""[{"until": 100}, {"data": "b"}]""", "stage 1 has no data")]
    [InlineData("""[{"until": 100, "data": []}, {"data": "b"}]""", "stage 1 data is an empty list")]
    [InlineData("""[{"until": 100, "data": [{"weight": 1}]}, {"data": "b"}]""", "stage 1 data entry 0 has no path")]
    [InlineData("""[{"until": 100, "data": [{"path": "a", "weight": "lots"}]}, {"data": "b"}]""", "has weight 'lots', which is not a number")]
    [InlineData("""[{"until": 100, "data": [{"path": "a", "weight": 0}]}, {"data": "b"}]""", "stage 1 data entry 0 'a' has weight 0")]
    [InlineData("""[{"until": 100, "data": "builtin"}, {"data": "b"}]""", "stage 1 data is 'builtin', which cannot be mixed")]
    [InlineData("""{"until": 100, "data": "a"}""", "is not a list")]
    [InlineData("""[]""", "is empty")]
    [InlineData("""[{"until": 1""", "is not JSON")]
    public void Bad_stages_are_refused_naming_the_stage_and_the_fix(string json, string expected)
    {
        var message = Error(["--max_iters", "1000", "--stages", json]);
        Assert.Contains("stages (command line --stages)", message);
        Assert.Contains(expected, message);
    }

    [Theory]
    [InlineData("""[]""", "stages (config file", "is empty; stages is a list of")]
    [InlineData("""[{"until": 5, "data": []}, {"data": "b"}]""", "stages (config file", "stage 1 data is empty")]
    [InlineData("""[{"until": 5, "data": ""}, {"data": "b"}]""", "stages (config file", "stage 1 data is empty")]
    public void Empty_stages_or_stage_data_in_a_file_are_called_empty(string stages, string source, string expected)
    {
        // The configuration system hands an empty JSON list over as an empty string.
        var path = _files.Write("empty.json", $$"""{ "stages": {{stages}} }""");
        var message = Error([], path);
        Assert.Contains(source, message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void A_stage_path_that_does_not_exist_is_named()
    {
        var a = _files.MakeDirectory("a");
        var message = Error(["--stages", $$"""[{"until": 10, "data": "{{a}}"}, {"data": [{"path": "{{a}}"}, {"path": "/nonexistent/b"}]}]"""], checkPaths: true);
        Assert.Contains("stage 2 data entry 1 path '/nonexistent/b' does not exist", message);
        Assert.DoesNotContain("--data builtin", message); // data beside stages is refused: not a fix to offer
    }

    [Fact]
    public void Data_beside_stages_is_refused_as_replaced_by_them()
    {
        var message = Error(["--data", "x", "--stages", """[{"until": 10, "data": "a"}, {"data": "b"}]"""]);
        Assert.Contains("data (command line --data): is replaced by stages", message);
    }

    [Fact]
    public void A_stages_data_given_key_by_key_replaces_a_files_list_and_a_list_replaces_a_files_path()
    {
        var path = _files.Write("staged.json", """
            { "stages": [ { "until": 30, "data": [ "a", { "path": "b", "weight": 3 } ] }, { "data": "b" } ] }
            """);
        var config = Load(["--stages:0:data", "c", "--stages:1:data:0:path", "d", "--stages:1:data:1:path", "e"], path, checkPaths: false);
        Assert.Equal(DataSpec.FromPath("c"), config.Stages.Items[0].Data);
        Assert.Equal(DataSpec.Mixture([new DataSource("d", 1), new DataSource("e", 1)]), config.Stages.Items[1].Data);
        Assert.Equal(new StageEnd(30, false), config.Stages.Items[0].Until);
    }

    [Fact]
    public void Stages_given_key_by_key_override_one_field_of_a_files_stage()
    {
        var path = _files.Write("staged.json", """{ "stages": [ { "until": 30, "data": "a" }, { "data": "b" } ] }""");
        var config = Load(["--stages:0:until", "50"], path, checkPaths: false);
        Assert.Equal(new StageEnd(50, false), config.Stages.Items[0].Until);
        Assert.Equal(DataSpec.FromPath("b"), config.Stages.Items[1].Data);
    }
}
