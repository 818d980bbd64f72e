using LlmTrainer.Config;

namespace LlmTrainer.Tests.Config;

public sealed class DataSpecTests : IDisposable
{
    private readonly ConfigTestFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static TrainConfig Load(string[] args, string? config = null, bool checkPaths = true) =>
        ConfigLoader.Load(args, new ConfigLoadOptions { Config = config, Environment = new Dictionary<string, string>(), CheckDataPaths = checkPaths }).Config;

    [Fact]
    public void Builtin_and_a_single_path()
    {
        Assert.True(Load(["--data", "builtin"]).Data.IsBuiltin);
        var dir = _files.MakeDirectory("shards");
        var data = Load(["--data", dir]).Data;
        Assert.False(data.IsMixture);
        Assert.Equal([new DataSource(dir, 1.0)], data.Sources);
    }

    [Fact]
    public void A_mixture_from_a_json_file_with_normalised_probabilities()
    {
        var a = _files.MakeDirectory("a");
        var b = _files.MakeDirectory("b");
        var path = _files.Write("mix.json", $$"""{ "data": [ { "path": "{{a}}", "weight": 3 }, { "path": "{{b}}", "weight": 1 } ] }""");
        var data = Load([], path).Data;
        Assert.True(data.IsMixture);
        Assert.Equal([new DataSource(a, 3), new DataSource(b, 1)], data.Sources);
        Assert.Equal([0.75, 0.25], data.Probabilities());
    }

    [Fact]
    public void A_mixture_as_a_json_string_or_key_by_key_on_the_command_line()
    {
        var a = _files.MakeDirectory("a");
        var b = _files.MakeDirectory("b");
        var fromJson = Load(["--data", $$"""[{"path":"{{a}}","weight":0.5},"{{b}}"]"""]).Data;
        Assert.Equal([new DataSource(a, 0.5), new DataSource(b, 1)], fromJson.Sources);

        var byKey = Load(["--data:0:path", a, "--data:0:weight", "2", "--data:1:path", b]).Data;
        Assert.Equal([new DataSource(a, 2), new DataSource(b, 1)], byKey.Sources);
    }

    [Fact]
    public void A_path_on_the_command_line_replaces_a_mixture_from_the_file()
    {
        var dir = _files.MakeDirectory("only");
        var path = _files.Write("mix.json", """{ "data": [ { "path": "x", "weight": 1 } ] }""");
        var data = Load(["--data", dir], path).Data;
        Assert.False(data.IsMixture);
        Assert.Equal(dir, data.Sources[0].Path);
    }

    [Theory]
    [InlineData("""[{"path":"a","weight":0}]""", "weight 0")]
    [InlineData("""[{"path":"a","weight":-1}]""", "weight -1")]
    [InlineData("""[{"path":"a","colour":"red"}]""", "colour")]
    [InlineData("""[{"weight":1}]""", "not a list")]
    [InlineData("""[]""", "empty")]
    [InlineData("""[{"path":"builtin","weight":1}]""", "cannot be mixed")]
    [InlineData("""[{"path":"a","weight":1""", "not a list")]
    public void Bad_mixtures_are_rejected_naming_data(string json, string expected)
    {
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--data", json], checkPaths: false));
        Assert.Contains("data (command line --data)", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("""{ "data": [] }""")]
    [InlineData("""{ "data": null }""")]
    [InlineData("""{ "data": "" }""")]
    public void An_empty_data_value_in_a_file_is_rejected(string json)
    {
        var path = _files.Write("empty-data.json", json);
        var e = Assert.Throws<LlmTrainerException>(() => Load([], path));
        Assert.Contains($"data ({ "config file " + path}): is empty", e.Message);
    }

    [Fact]
    public void A_missing_mixture_entry_is_named_by_its_index()
    {
        var a = _files.MakeDirectory("a");
        var e = Assert.Throws<LlmTrainerException>(() => Load(["--data", $$"""[{"path":"{{a}}"},{"path":"/nonexistent/b"}]"""]));
        Assert.Contains("entry 1 path '/nonexistent/b' does not exist", e.Message);
    }

    [Fact]
    public void Key_by_key_entries_need_a_path_and_a_numeric_weight()
    {
        var noPath = Assert.Throws<LlmTrainerException>(() => Load(["--data:0:weight", "1"], checkPaths: false));
        Assert.Contains("entry 0 has no path", noPath.Message);
        var badWeight = Assert.Throws<LlmTrainerException>(() => Load(["--data:0:path", "a", "--data:0:weight", "lots"], checkPaths: false));
        Assert.Contains("weight 'lots'", badWeight.Message);
    }

    [Fact]
    public void Full_paths_are_absolute_and_keep_weights_and_form()
    {
        var mixture = DataSpec.Mixture([new DataSource("data/a", 3), new DataSource("/abs/b", 1)]).WithFullPaths();
        Assert.True(mixture.IsMixture);
        Assert.Equal([Path.GetFullPath("data/a"), "/abs/b"], mixture.Sources.Select(s => s.Path));
        Assert.Equal([3.0, 1.0], mixture.Sources.Select(s => s.Weight));
        var single = DataSpec.FromPath("data/one").WithFullPaths();
        Assert.False(single.IsMixture);
        Assert.Equal(Path.GetFullPath("data/one"), single.Sources[0].Path);
        Assert.Same(DataSpec.Builtin, DataSpec.Builtin.WithFullPaths());
    }
}
