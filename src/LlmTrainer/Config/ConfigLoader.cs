using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace LlmTrainer.Config;

/// <summary>
/// Builds a <see cref="TrainConfig"/> from layers, each overriding the one before: the built-in defaults,
/// a JSON file (<c>--config</c>: a path or a built-in name), <c>LLMTRAIN_key</c> environment variables,
/// then <c>--key value</c> / <c>--key=value</c> arguments. Unknown keys, wrong types and inconsistent
/// values fail here, before anything heavy, with the key, the layer it came from and a fix.
/// </summary>
public static class ConfigLoader
{
    public const string EnvironmentPrefix = "LLMTRAIN_";

    /// <param name="args">The arguments left over by the command: <c>--key value</c> pairs, possibly with <c>--config</c>.</param>
    public static LoadedConfig Load(IReadOnlyList<string> args, ConfigLoadOptions? options = null)
    {
        options ??= new ConfigLoadOptions();
        var (configArgument, pairs) = ParseArguments(args);
        if (configArgument is not null && options.Config is not null && configArgument != options.Config)
            throw new LlmTrainerException($"--config is given twice ('{options.Config}' and '{configArgument}'); give it once.");

        var file = OpenConfigFile(configArgument ?? options.Config ?? BuiltinConfigs.Default);
        var builder = new ConfigurationBuilder();
        builder.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(file.Json)));
        var environment = options.Environment ?? ProcessEnvironment();
        builder.Add(new MemoryConfigurationSource { InitialData = EnvironmentLayer(environment) });
        builder.AddCommandLine(pairs.Select(p => $"--{p.Key}={p.Value}").ToArray());

        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or JsonException)
        {
            var detail = e.InnerException?.Message ?? e.Message;
            throw new LlmTrainerException($"{file.Origin} is not a valid JSON object of config keys: {detail}", e);
        }

        var layers = new Layers(root, file.Origin, environment);
        var (config, errors) = Bind(root, layers);
        if (errors.Count == 0)
            errors = ConfigValidator.Check(config, options.CheckDataPaths);
        if (errors.Count == 0)
            errors = UnusedKeys(config, layers);
        if (errors.Count > 0)
            throw ConfigValidator.ToException(errors, key => layers.Describe(key) ?? "default");

        if (config.Name.Length == 0)
            config = config with { Name = file.Name };
        var sources = ConfigKeys.All.Select(k => (k.Name, Source: layers.Describe(k.Name)))
            .Where(x => x.Source is not null)
            .ToDictionary(x => x.Name, x => x.Source!);
        return new LoadedConfig(config, file.Origin, sources);
    }

    private sealed record ConfigFile(string Json, string Origin, string Name);

    private static ConfigFile OpenConfigFile(string config)
    {
        // A run directory stands for the config.json it keeps.
        if (Directory.Exists(config) && File.Exists(Path.Combine(config, "config.json")))
            config = Path.Combine(config, "config.json");
        if (File.Exists(config))
        {
            string json;
            try
            {
                json = File.ReadAllText(config);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new LlmTrainerException($"cannot read config file '{config}': {e.Message}", e);
            }
            return new ConfigFile(json, $"config file {Path.GetFullPath(config)}", Path.GetFileNameWithoutExtension(config));
        }

        var name = config.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Path.GetFileNameWithoutExtension(config) : config;
        var builtin = BuiltinConfigs.Read(name);
        if (builtin is not null)
            return new ConfigFile(builtin, $"built-in config '{name}'", name);
        throw new LlmTrainerException(
            $"--config '{config}' is neither an existing file nor a built-in config; give a path to a JSON file or one of: {string.Join(", ", BuiltinConfigs.Names)}.");
    }

    /// <summary>
    /// Splits the arguments into <c>--config</c> and key/value pairs. Done here rather than left to the
    /// command-line provider because it silently drops stray words and takes <c>--flag --next</c> as a
    /// value; keys may be written kebab-case, and a boolean key alone means true.
    /// </summary>
    private static (string? Config, List<KeyValuePair<string, string>> Pairs) ParseArguments(IReadOnlyList<string> args)
    {
        string? config = null;
        var pairs = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < args.Count; i++)
        {
            var token = args[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
            {
                throw new LlmTrainerException(token.StartsWith('-') && token.Length > 1
                    ? $"'{token}': config options take two dashes, as in --batch_size 32 or --batch_size=32."
                    : $"unexpected argument '{token}'; config values are given as --key value or --key=value.");
            }

            var body = token[2..];
            var equals = body.IndexOf('=');
            string key, value;
            if (equals >= 0)
            {
                key = body[..equals];
                value = body[(equals + 1)..];
            }
            else
            {
                key = body;
                var normalizedKey = key.Replace('-', '_');
                if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    value = args[++i];
                else if (ConfigKeys.Find(normalizedKey)?.Type == ConfigValueType.Boolean)
                    value = "true";
                else
                    throw new LlmTrainerException($"--{key} needs a value: --{key} VALUE or --{key}=VALUE.");
            }

            key = key.Replace('-', '_');
            if (key.Length == 0)
                throw new LlmTrainerException($"'{token}' has no key name; write --key=value.");
            if (key.Equals("config", StringComparison.OrdinalIgnoreCase))
                config = value;
            else
                pairs.Add(new(key, value));
        }
        return (config, pairs);
    }

    /// <summary>
    /// Variables with the prefix that set the runtime, not the training config (threads, native library path, CPU
    /// allocator cache and limit, checkpoint verification, stack traces, the device of the device-parameterised tests, and
    /// scripts/test.sh's switches for its libtorch 2.x leg and GPU acceptance selftest, which the tests inherit).
    /// </summary>
    public static readonly IReadOnlySet<string> RuntimeVariables = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "LLMTRAIN_THREADS", "LLMTRAIN_NATIVE", "LLMTRAIN_CPU_CACHE", "LLMTRAIN_CPU_MEMORY_LIMIT", "LLMTRAIN_VERIFY_CHECKPOINTS",
        "LLMTRAIN_VERBOSE", "LLMTRAIN_TEST_DEVICE", "LLMTRAIN_LAUNCHER", "LLMTRAIN_DIST_TIMEOUT",
        // scripts/test.sh's switches, set in the environment of the tests it runs
        "LLMTRAIN_LIBTORCH2", "LLMTRAIN_GPU_SELFTEST", "LLMTRAIN_WRITE_FIXTURES",
    };

    private static Dictionary<string, string> ProcessEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");

    /// <summary>The same mapping as the environment-variable provider: prefix stripped, <c>__</c> for <c>:</c>.</summary>
    private static Dictionary<string, string?> EnvironmentLayer(IReadOnlyDictionary<string, string> environment) =>
        environment
            .Where(e => e.Key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && !RuntimeVariables.Contains(e.Key))
            .ToDictionary(e => e.Key[EnvironmentPrefix.Length..].Replace("__", ":"), e => (string?)e.Value, StringComparer.OrdinalIgnoreCase);

    private static (TrainConfig Config, List<ConfigError> Errors) Bind(IConfigurationRoot root, Layers layers)
    {
        var config = new TrainConfig();
        var errors = new List<ConfigError>();
        foreach (var section in root.GetChildren())
        {
            var key = ConfigKeys.Find(section.Key);
            if (key is null)
            {
                errors.Add(UnknownKey(section.Key));
                continue;
            }

            if (key.Type == ConfigValueType.Stages)
            {
                var whole = layers.Winner(key.Name) is { } layer && layer.TryGet(key.Name, out var text) ? text : null;
                if (StagesParser.Bind(root, whole, errors) is { } stages)
                    config = key.Set(config, stages);
                continue;
            }

            if (key.Type == ConfigValueType.Data)
            {
                var data = BindData(root, layers, errors);
                if (data is not null)
                    config = key.Set(config, data);
                continue;
            }

            if (section.GetChildren().Any())
            {
                errors.Add(new ConfigError(key.Name, $"must be a single value ({key.TypeDescription}), not a list or an object."));
                continue;
            }

            var parsed = ParseScalar(key, section.Value, errors);
            if (parsed is not null)
                config = key.Set(config, parsed);
        }
        return (config, errors);
    }

    /// <summary>
    /// Keys that were set but that the chosen model cannot use (experts_per_token on a dense model, …): an error rather
    /// than a value silently ignored. A config file may still hold such a key at its default value: earlier versions
    /// wrote every key into a run's config.json.
    /// </summary>
    private static List<ConfigError> UnusedKeys(TrainConfig config, Layers layers)
    {
        var defaults = new TrainConfig();
        var errors = new List<ConfigError>();
        foreach (var key in ConfigKeys.All)
        {
            if (key.UnusedIn(config) is not { } reason || !layers.IsSet(key.Name)) continue;
            if (layers.IsFromFile(key.Name) && Equals(key.Get(config), key.Get(defaults))) continue;
            errors.Add(new ConfigError(key.Name, reason));
        }
        return errors;
    }

    private static ConfigError UnknownKey(string name)
    {
        if (name.Equals("config", StringComparison.OrdinalIgnoreCase))
            return new ConfigError(name, "cannot be set inside a config or the environment; give it on the command line as --config PATH_OR_NAME.");
        var suggestion = ConfigKeys.Suggest(name);
        var hint = suggestion is not null
            ? $"did you mean '{suggestion}'?"
            : $"known keys are: {string.Join(", ", ConfigKeys.All.Select(k => k.Name).Order(StringComparer.Ordinal))}.";
        return new ConfigError(name, $"unknown key; {hint}");
    }

    private static object? ParseScalar(ConfigKey key, string? text, List<ConfigError> errors)
    {
        var value = text?.Trim() ?? "";
        object? result = key.Type switch
        {
            ConfigValueType.Integer => ParseInteger(value) is { } n && n is >= int.MinValue and <= int.MaxValue ? (int)n : null,
            ConfigValueType.LongInteger => ParseInteger(value),
            ConfigValueType.Number => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null,
            ConfigValueType.Boolean => ParseBoolean(value),
            _ => NormalizeText(key.Name, text ?? ""),
        };
        if (result is null)
        {
            var example = ConfigJson.FormatValue(key.Get(new TrainConfig()));
            errors.Add(new ConfigError(key.Name,
                $"expected {key.TypeDescription}, got '{text}'; write it like --{key.Name} {example}."));
        }
        return result;
    }

    /// <summary>Integers, also written in exponent form (<c>1e5</c>) as long as the value is whole.</summary>
    private static long? ParseInteger(string value)
    {
        if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            return n;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            && double.IsFinite(d) && Math.Floor(d) == d && Math.Abs(d) < 9e15)
            return (long)d;
        return null;
    }

    private static bool? ParseBoolean(string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => null,
    };

    /// <summary>dtype and device names are case-insensitive and take the usual short spellings.</summary>
    private static string NormalizeText(string key, string value) => key switch
    {
        "dtype" => value.Trim().ToLowerInvariant() switch
        {
            "fp32" or "f32" or "float" => "float32",
            "bf16" => "bfloat16",
            "fp16" or "f16" or "half" => "float16",
            var other => other,
        },
        "device" => value.Trim().ToLowerInvariant(),
        _ => value,
    };

    private static DataSpec? BindData(IConfigurationRoot root, Layers layers, List<ConfigError> errors)
    {
        const string fix = "use --data builtin, --data PATH, or a list of {\"path\": ..., \"weight\": ...} objects";
        if (layers.Winner("data") is not { } winner || !winner.TryGet("data", out var text) || text is null)
            return DataSpecParser.Parse(DataSpecParser.FromSection(root.GetSection("data"), root.Providers.ToList()), "data", "", fix, errors);
        var value = text.Trim();
        if (value.Length == 0)
        {
            errors.Add(new ConfigError("data", $"is empty; {fix}."));
            return null;
        }
        if (!value.StartsWith('['))
            return DataSpec.FromPath(value);
        // A list in one string (command line, environment): what is wrong with it is said of the string.
        var problems = new List<ConfigError>();
        DataSpec? spec = null;
        try
        {
            spec = DataSpecParser.Parse(JsonNode.Parse(value), "data", "", fix, problems);
        }
        catch (JsonException e)
        {
            problems.Add(new ConfigError("data", e.Message));
        }
        if (problems.Count > 0)
            errors.Add(new ConfigError("data", $"'{value}' is not a list of {{\"path\": ..., \"weight\": ...}} objects ({problems[0].Message.TrimEnd('.')}); {fix}."));
        return spec;
    }

    /// <summary>Knows which layer set which key, to say where a bad value came from.</summary>
    private sealed class Layers(IConfigurationRoot root, string fileOrigin, IReadOnlyDictionary<string, string>? environment)
    {
        private readonly IReadOnlyList<IConfigurationProvider> _providers = root.Providers.ToList();

        /// <summary>The last layer that sets the key or anything under it.</summary>
        public IConfigurationProvider? Winner(string key) =>
            _providers.LastOrDefault(p => p.TryGet(key, out _) || p.GetChildKeys([], key).Any());

        public bool IsSet(string key) => Winner(key) is not null;

        public bool IsFromFile(string key) => Winner(key) is { } winner && IndexOf(winner) == 0;

        public string? Describe(string key)
        {
            var winner = Winner(key);
            if (winner is null)
                return null;
            var index = IndexOf(winner);
            return index switch
            {
                0 => fileOrigin,
                1 => $"environment variable {EnvironmentName(key)}",
                _ => $"command line --{key}",
            };
        }

        private int IndexOf(IConfigurationProvider provider)
        {
            for (var i = 0; i < _providers.Count; i++)
            {
                if (ReferenceEquals(_providers[i], provider))
                    return i;
            }
            return -1;
        }

        /// <summary>The variable as the user spelt it (names are case-sensitive on Linux, keys are not).</summary>
        private string EnvironmentName(string key)
        {
            var wanted = EnvironmentPrefix + key;
            IEnumerable<string> names = environment is not null
                ? environment.Keys
                : System.Environment.GetEnvironmentVariables().Keys.Cast<object>().Select(k => k.ToString() ?? "");
            return names.FirstOrDefault(n => n.Equals(wanted, StringComparison.OrdinalIgnoreCase)
                       || (n.StartsWith(wanted + "__", StringComparison.OrdinalIgnoreCase)))
                   ?? wanted;
        }
    }
}
