using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LlmTrainer.Config;

namespace LlmTrainer.Cli.Tests;

/// <summary>Keeps the README true: its commands parse, its parameter table matches the configs.</summary>
public sealed partial class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmTrainer.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("LlmTrainer.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Lines of the README's code blocks that run llmtrain, without environment assignments and comments.</summary>
    public static TheoryData<string> Commands() => new(CommandLines().Distinct());

    private static List<string> CommandLines()
    {
        var data = new List<string>();
        bool inCode = false;
        foreach (var raw in Readme.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }
            if (!inCode) continue;
            var command = StripComment(line).Trim();
            command = EnvironmentAssignment().Replace(command, "");
            foreach (var part in command.Split("&&"))
            {
                var p = part.Trim();
                if (p.StartsWith("llmtrain ", StringComparison.Ordinal) || p == "llmtrain")
                    data.Add(p);
            }
        }
        return data;
    }

    [Fact]
    public void The_readme_shows_the_main_commands()
    {
        var commands = CommandLines();
        foreach (var verb in new[] { "train", "sample", "eval", "prepare", "info", "export" })
            Assert.Contains(commands, c => c.StartsWith($"llmtrain {verb}", StringComparison.Ordinal));
    }

    [Fact]
    public void The_interop_commands_name_every_export_format_and_real_options()
    {
        var commands = CommandLines();
        var exports = commands.Where(c => c.StartsWith("llmtrain export", StringComparison.Ordinal)).Select(c => Split(c)).ToList();
        var formats = exports.Select(a => a[a.IndexOf("--format") + 1]).ToList();
        Assert.Equal(["gguf", "hf", "llama2c"], formats.Distinct().Order(StringComparer.Ordinal));
        foreach (var args in exports)
        {
            LlmTrainer.Interop.ExportFormats.Parse(args[args.IndexOf("--format") + 1]);
            if (args.IndexOf("--dtype") is var d and >= 0) LlmTrainer.Interop.WeightDtypes.Parse(args[d + 1]);
        }
        // init_from is a config key, which the train command takes among its unmatched --key value pairs.
        Assert.Contains(commands, c => c.StartsWith("llmtrain train --init_from", StringComparison.Ordinal));
        Assert.NotNull(ConfigLoader.Load(["--init_from", "x"], new ConfigLoadOptions { Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config.InitFrom);
        Assert.Contains(commands, c => c.StartsWith("llmtrain sample --checkpoint export/hf", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_in_the_readme_parses(string command)
    {
        var args = Split(command).Skip(1).ToArray();
        var result = Program.BuildRoot().Parse(args);
        Assert.True(result.Errors.Count == 0, $"{command}: {string.Join("; ", result.Errors.Select(e => e.Message))}");
        Assert.NotNull(result.CommandResult.Parent); // a subcommand, not the bare root
    }

    /// <summary>The tokenizer paragraph names every file a tokenizer directory may hold, and the sampling options it describes exist.</summary>
    [Fact]
    public void The_readme_names_every_tokenizer_format_and_the_no_bos_option()
    {
        foreach (var file in LlmTrainer.Tokenization.Tokenizer.DirectoryFileNames)
            Assert.Contains($"`{file}`", Readme);
        Assert.Contains(CommandLines(), c => c.StartsWith("llmtrain prepare", StringComparison.Ordinal) && c.Contains("--tokenizer tokenizer.model"));
        Assert.Contains("--no-bos", Readme);
        Assert.Empty(Program.BuildRoot().Parse(["sample", "--prompt", "x", "--no-bos"]).Errors);
    }

    /// <summary>
    /// Every <c>llmtrain train</c> the README shows, in code blocks and in running text, after a launcher such as
    /// torchrun or srun too: the tokens after <c>train</c>.
    /// </summary>
    public static TheoryData<string> TrainCommands() => new(TrainCommandLines(Readme).Distinct());

    private static List<string> TrainCommandLines(string markdown)
    {
        var lines = new List<string>();
        foreach (Match m in TrainInvocation().Matches(markdown))
            lines.Add(StripComment(m.Value).Trim());
        return lines;
    }

    /// <summary>
    /// The <c>--key</c> tokens of a train command that are neither train's own options nor config keys. train passes
    /// tokens it does not know to the config loader, so the parser alone accepts a misspelt key.
    /// </summary>
    internal static List<string> UnknownTrainKeys(string command)
    {
        var own = Program.BuildRoot().Subcommands.Single(c => c.Name == "train").Options
            .SelectMany(o => o.Aliases.Prepend(o.Name)).ToHashSet(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var token in Split(command).SkipWhile(t => t != "train").Skip(1))
        {
            if (!token.StartsWith("--", StringComparison.Ordinal)) continue;
            var name = token.Split('=', 2)[0];
            if (own.Contains(name)) continue;
            // The loader takes keys kebab-case as well as snake_case, in any case.
            if (ConfigKeys.Find(name[2..].Replace('-', '_')) is null) unknown.Add(name);
        }
        return unknown;
    }

    [Theory]
    [MemberData(nameof(TrainCommands))]
    public void Every_key_given_to_train_in_the_readme_is_an_option_or_a_config_key(string command)
    {
        var unknown = UnknownTrainKeys(command);
        Assert.True(unknown.Count == 0, $"{command}: {string.Join(", ", unknown)} is neither a train option nor a config key (src/LlmTrainer/Config/ConfigKeys.cs)");
        // The values must load too: the tokens train leaves to the config loader, over the built-in config the line names.
        var result = Program.BuildRoot().Parse(Split(command).Skip(1).ToArray());
        Assert.Empty(result.Errors);
        var config = result.GetValue<string?>("--config");
        // A file of the reader's own (my.json) is not here: its overrides are checked over the defaults.
        var builtin = config is null ? null : Path.GetFileNameWithoutExtension(config);
        var options = new ConfigLoadOptions
        {
            Config = builtin is not null && BuiltinConfigs.Exists(builtin) ? builtin : null,
            Environment = new Dictionary<string, string>(),
            CheckDataPaths = false,
        };
        ConfigLoader.Load(result.UnmatchedTokens, options);
    }

    [Theory]
    [InlineData("llmtrain train --config 15m --max_itres 5000", "--max_itres")]
    [InlineData("llmtrain train --batch-size=8 --lerning_rate=3e-4", "--lerning_rate")]
    [InlineData("torchrun --nproc-per-node 2 llmtrain train --nproc_per_node 2", "--nproc_per_node")]
    public void A_misspelt_train_key_is_caught(string command, string key)
    {
        Assert.Equal([key], UnknownTrainKeys(command));
        // The same line in a README code block is found and refused.
        Assert.Equal([key], TrainCommandLines($"```\n{command}\n```\n").SelectMany(UnknownTrainKeys));
    }

    [Fact]
    public void Train_options_and_config_keys_in_either_spelling_are_known()
    {
        Assert.Empty(UnknownTrainKeys("llmtrain train --config 15m --resume runs/x --force --nproc-per-node 2 --dist-backend gloo"));
        Assert.Empty(UnknownTrainKeys("llmtrain train --max_iters 5 --max-iters=5 --Learning_Rate 1e-3 --activation_checkpointing"));
        Assert.Contains(TrainCommandLines(Readme), c => c.StartsWith("llmtrain train --resume", StringComparison.Ordinal));
    }

    /// <summary>The README's layout section: from its heading to the next one.</summary>
    private static string LayoutSection()
    {
        var start = Readme.IndexOf("\n## Layout", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Layout' section");
        var end = Readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? Readme[start..] : Readme[start..end];
    }

    [Fact]
    public void The_layout_names_every_folder_of_the_library_and_points_to_the_architecture()
    {
        var section = LayoutSection();
        var folders = Directory.GetDirectories(Path.Combine(RepoRoot(), "src", "LlmTrainer"))
            .Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).ToList();
        Assert.NotEmpty(folders);
        var missing = folders.Where(f => !Regex.IsMatch(section, $@"^\s+{Regex.Escape(f!)}/\s", RegexOptions.Multiline)).ToList();
        Assert.True(missing.Count == 0, $"README.md's layout section does not list src/LlmTrainer/{string.Join(", ", missing)}: add a line each");
        Assert.Contains("docs/architecture.md", section);
        Assert.True(File.Exists(Path.Combine(RepoRoot(), "docs", "architecture.md")));
    }

    [Fact]
    public void The_markdown_links_point_inside_the_repository()
    {
        var root = RepoRoot();
        foreach (var file in new[] { "README.md", Path.Combine("docs", "architecture.md") })
        {
            var text = File.ReadAllText(Path.Combine(root, file));
            foreach (Match link in MarkdownLink().Matches(text))
            {
                var target = link.Groups["target"].Value.Split('#')[0];
                if (target.Length == 0) continue; // an anchor in the same file
                Assert.False(target.Contains("://", StringComparison.Ordinal), $"{file} links outside the repository: {target}");
                var full = Path.GetFullPath(Path.Combine(root, Path.GetDirectoryName(file)!, target));
                Assert.True(full.StartsWith(root, StringComparison.Ordinal) && (File.Exists(full) || Directory.Exists(full)),
                    $"{file} links to {target}, which is not in the repository");
            }
        }
    }

    [Fact]
    public void The_defaults_a_config_file_starts_from_are_the_ones_the_readme_names()
    {
        var d = new LlmTrainer.Config.TrainConfig();
        var text = System.Text.RegularExpressions.Regex.Replace(Readme, @"\s+", " ");
        Assert.Contains($"d_model {d.DModel}, {d.NLayer} layers, {d.NHead} heads, context {d.BlockSize}, batch {d.BatchSize}, " +
                        $"learning rate {d.LearningRate.ToString("0e0", System.Globalization.CultureInfo.InvariantCulture)} with {d.WarmupIters} warmup steps, {d.MaxIters:N0} iterations, the built-in stories as data",
                        text);
        Assert.Equal(LlmTrainer.Config.DataSpec.Builtin, d.Data);
    }

    [Fact]
    public void The_config_key_table_lists_every_key_once_with_its_real_default()
    {
        var rows = Regex.Matches(Readme, @"^\| `(?<key>[a-z0-9_]+)` \| (?<default>[^|]+) \| [^|]+ \|$", RegexOptions.Multiline)
            .Where(m => LlmTrainer.Config.ConfigKeys.Find(m.Groups["key"].Value) is not null).ToList();
        Assert.Equal(LlmTrainer.Config.ConfigKeys.All.Select(k => k.Name).Order(StringComparer.Ordinal), rows.Select(r => r.Groups["key"].Value).Order(StringComparer.Ordinal));
        var defaults = new LlmTrainer.Config.TrainConfig();
        var dir = Directory.CreateTempSubdirectory("llmtrain-readme-keys-").FullName;
        try
        {
            foreach (var row in rows)
            {
                var key = LlmTrainer.Config.ConfigKeys.Find(row.Groups["key"].Value)!;
                var cell = row.Groups["default"].Value.Trim();
                var expected = key.Get(defaults);
                if (cell == "—")
                {
                    // No value: an empty string or an empty list.
                    Assert.True(expected is "" || expected is LlmTrainer.Config.DataStages { IsEmpty: true }, $"{key.Name}: the README gives no default, but it is {expected}");
                    continue;
                }
                // The README's value, read as a config file would give it, is the default itself.
                var file = Path.Combine(dir, key.Name + ".json");
                File.WriteAllText(file, $$"""{ "{{key.Name}}": "{{cell.Trim('`')}}" }""");
                var loaded = ConfigLoader.Load([], new ConfigLoadOptions { Config = file, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;
                Assert.True(Equals(expected, key.Get(loaded)), $"{key.Name}: the README says {cell}, the default is {expected}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_config_option_help_names_every_built_in_config()
    {
        var (code, stdout, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        var line = stdout.Split('\n').Single(l => l.TrimStart().StartsWith("--config", StringComparison.Ordinal));
        Assert.All(BuiltinConfigs.Names, name => Assert.Contains(name, line));
    }

    [Fact]
    public void The_parameter_table_matches_the_configs()
    {
        var rows = TableRow().Matches(Readme).ToList();
        Assert.Equal(BuiltinConfigs.Names.Order(StringComparer.Ordinal), rows.Select(r => r.Groups["name"].Value).Order(StringComparer.Ordinal));
        foreach (var row in rows)
        {
            var name = row.Groups["name"].Value;
            var config = ConfigLoader.Load([], new ConfigLoadOptions { Config = name, Environment = new Dictionary<string, string>(), CheckDataPaths = false }).Config;
            // The built-in stories' tokenizer has 2048 tokens; a config with vocab_size 0 takes the tokenizer's.
            var shape = (config.VocabSize == 0 ? config with { VocabSize = 2048 } : config).ToModelConfig();
            var stated = long.Parse(row.Groups["params"].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
            Assert.True(stated == shape.TotalParameters, $"README says {name} has {stated:N0} parameters; the config has {shape.TotalParameters:N0}");
            // A mixture of experts also states the parameters one token passes through.
            if (shape.IsMoe)
                Assert.Contains($"({shape.ActiveParameters.ToString("N0", CultureInfo.InvariantCulture)} active", row.Value);
            else
                Assert.DoesNotContain(" active", row.Value);
            Assert.Contains($"{config.DModel} / {config.NLayer} / {config.NHead} ({shape.NKvHead})", row.Value);
            Assert.Contains($"| {config.BlockSize} |", row.Value);
        }
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '"') quoted = !quoted;
            else if (line[i] == '#' && !quoted && (i == 0 || char.IsWhiteSpace(line[i - 1]))) return line[..i];
        }
        return line;
    }

    /// <summary>Splits a command line as a POSIX shell would for the simple quoting the README uses.</summary>
    private static List<string> Split(string command)
    {
        var parts = new List<string>();
        var current = new StringBuilder();
        bool quoted = false, any = false;
        foreach (var c in command)
        {
            if (c == '"') { quoted = !quoted; any = true; }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any) parts.Add(current.ToString());
                current.Clear();
                any = false;
            }
            else { current.Append(c); any = true; }
        }
        if (any) parts.Add(current.ToString());
        return parts;
    }

    [GeneratedRegex(@"\bllmtrain train\b[^`\n]*")]
    private static partial Regex TrainInvocation();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^(\w+=\S+\s+)+")]
    private static partial Regex EnvironmentAssignment();

    // A parameter count alone in its cell or before its note ("(vocab 2048)"), so that other tables' rows of a config
    // (batch "8 × 256") are not taken for the parameter table's.
    [GeneratedRegex(@"^\| `(?<name>[^`]+)` \| (?<params>[\d,]+)(?= \(| \|).*$", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
