namespace LlmTrainer.Tests.Config;

/// <summary>A temporary directory for config files and data paths, deleted with the test.</summary>
internal sealed class ConfigTestFiles : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("llmtrain-config-").FullName;

    public string Write(string name, string content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content);
        return path;
    }

    public string MakeDirectory(string name) => Directory.CreateDirectory(Path.Combine(Root, name)).FullName;

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
