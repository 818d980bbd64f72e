namespace LlmTrainer.Data;

/// <summary>A person or animal in a synthetic story, with the pronouns that go with it.</summary>
internal sealed record StoryCharacter(string Name, string Kind, bool Female, string Trait, bool IsAnimal)
{
    public string He => Female ? "she" : "he";

    public string His => Female ? "her" : "his";

    public string Him => Female ? "her" : "him";

    /// <summary>"a curious fox named Pip".</summary>
    public string Introduction => $"{Text.A(Trait)} {Trait} {Kind} named {Name}";
}
