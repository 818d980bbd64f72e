using System.Text;

namespace LlmTrainer.Tokenization;

/// <summary>
/// Deterministic story-like English (TinyStories flavour: names, dialogue, simple plots) for tokenizer
/// benchmarks and tests when no real corpus is at hand. The same seed always gives the same text.
/// </summary>
public static class SyntheticText
{
    private static readonly string[] Names = ["Lily", "Tom", "Max", "Sue", "Ben", "Mia", "Sam", "Anna", "Leo", "Zoe", "Tim", "Lucy", "Jack", "Emma", "Finn", "Rosa"];
    private static readonly string[] Animals = ["dog", "cat", "bird", "frog", "bunny", "fox", "bear", "duck", "fish", "horse", "mouse", "owl"];
    private static readonly string[] Things = ["ball", "kite", "box", "tree", "boat", "cake", "book", "hat", "car", "flower", "rock", "toy", "apple", "cup", "drum", "shell"];
    private static readonly string[] Places = ["park", "garden", "forest", "beach", "house", "school", "river", "hill", "farm", "town", "lake", "shop"];
    private static readonly string[] Adjectives = ["big", "little", "red", "happy", "shiny", "soft", "old", "funny", "sad", "brave", "tiny", "blue", "kind", "loud", "quiet", "green"];
    private static readonly string[] Verbs = ["played", "ran", "jumped", "looked", "smiled", "laughed", "walked", "danced", "sang", "waited", "climbed", "swam"];
    private static readonly string[] Feelings = ["happy", "sad", "scared", "excited", "proud", "tired", "surprised", "angry", "calm"];
    private static readonly string[] Openings = ["Once upon a time", "One day", "Long ago", "One sunny morning", "Every day", "Last summer"];
    private static readonly string[] Endings = ["From that day on, they were best friends.", "They all went home, tired and happy.", "And they lived happily ever after.", "The end.", "It was the best day ever."];

    private static readonly string[] Syllables = ["ba", "be", "bo", "ca", "co", "da", "de", "di", "fa", "fe", "ga", "go", "ha", "he", "ki", "la", "le", "li", "lo", "ma", "me", "mi", "mo", "na", "ne", "no", "pa", "pe", "pi", "ra", "re", "ri", "ro", "sa", "se", "si", "so", "ta", "te", "ti", "to", "va", "ve", "wa", "we", "ya", "zo", "st", "tr", "pl", "sh", "ch", "th", "er", "an", "in", "on", "ck", "ng", "ll"];

    // Thousands of made-up words drawn with a Zipf-like skew, so that the text has a long tail of rare
    // words like real stories do (a tokenizer trained on only a few hundred distinct words is too easy).
    private static readonly string[] Lexicon = BuildLexicon(30000);

    private static string[] BuildLexicon(int size)
    {
        var rng = new Random(12345);
        var words = new HashSet<string>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        while (words.Count < size)
        {
            sb.Clear();
            int n = 1 + rng.Next(4);
            for (int i = 0; i < n; i++)
                sb.Append(Syllables[rng.Next(Syllables.Length)]);
            words.Add(sb.ToString());
        }
        return [.. words];
    }

    private static string Word(Random rng) => Lexicon[(int)(Lexicon.Length * Math.Pow(rng.NextDouble(), 3))];

    /// <summary><paramref name="count"/> stories of roughly 400–1500 characters each.</summary>
    public static IEnumerable<string> Stories(int count, int seed = 1)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            sb.Clear();
            WriteStory(rng, sb);
            yield return sb.ToString();
        }
    }

    /// <summary>Stories until at least <paramref name="chars"/> characters have been produced.</summary>
    public static IEnumerable<string> StoriesOfLength(long chars, int seed = 1)
    {
        long total = 0;
        foreach (var story in Stories(int.MaxValue, seed))
        {
            if (total >= chars)
                yield break;
            total += story.Length + 1;
            yield return story;
        }
    }

    private static T Pick<T>(Random rng, T[] items) => items[rng.Next(items.Length)];

    private static void WriteStory(Random rng, StringBuilder sb)
    {
        string hero = Pick(rng, Names), friend = Pick(rng, Names), animal = Pick(rng, Animals);
        string thing = rng.Next(2) == 0 ? Pick(rng, Things) : Word(rng), place = Pick(rng, Places);
        sb.Append(Pick(rng, Openings)).Append(", there was a ").Append(Pick(rng, Adjectives)).Append(' ')
          .Append(rng.Next(3) == 0 ? animal : "girl").Append(" named ").Append(hero).Append(". ");
        sb.Append(hero).Append(" loved to go to the ").Append(place).Append(" with ").Append(friend).Append(". ");
        int sentences = rng.Next(4, 14);
        for (int s = 0; s < sentences; s++)
        {
            switch (rng.Next(8))
            {
                case 0:
                    sb.Append('"').Append(Pick(rng, ["Look", "Wow", "Hello", "Come here", "Help", "Yes", "No"])).Append(", ").Append(friend)
                      .Append(Pick(rng, ["!", "?", "."])).Append("\" said ").Append(hero).Append(". ");
                    break;
                case 1:
                    sb.Append("They ").Append(Pick(rng, Verbs)).Append(" near the ").Append(Pick(rng, Adjectives)).Append(' ').Append(Pick(rng, Things)).Append(". ");
                    break;
                case 2:
                    sb.Append(hero).Append(" felt ").Append(Pick(rng, Feelings)).Append(" because the ").Append(thing).Append(" was ").Append(Pick(rng, Adjectives)).Append(". ");
                    break;
                case 3:
                    sb.Append("\"I don't want to ").Append(Pick(rng, ["go", "share", "stop", "sleep", "wait"])).Append("!\" ").Append(friend).Append(" said. \"It's mine.\" ");
                    break;
                case 4:
                    sb.Append("The ").Append(Pick(rng, Animals)).Append(' ').Append(Pick(rng, Verbs)).Append(' ').Append(rng.Next(2, 12)).Append(" times and ")
                      .Append(Pick(rng, Verbs)).Append(" to the ").Append(Pick(rng, Places)).Append(". ");
                    break;
                case 5:
                    sb.Append("\n\n").Append(friend).Append(" found a ").Append(Pick(rng, Adjectives)).Append(' ').Append(Pick(rng, Things)).Append(" under the ").Append(Pick(rng, Things)).Append(". ");
                    break;
                case 6:
                    sb.Append("The ").Append(Word(rng)).Append(' ').Append(Word(rng)).Append(" was ").Append(Pick(rng, Adjectives)).Append(" and ")
                      .Append(Word(rng)).Append(Pick(rng, [", ", "; ", " - "])).Append(Word(rng)).Append(' ').Append(Word(rng)).Append(". ");
                    break;
                default:
                    sb.Append("Mom said, \"You're very ").Append(Pick(rng, Adjectives)).Append(", ").Append(hero).Append(".\" ");
                    break;
            }
        }
        sb.Append(Pick(rng, Endings));
    }
}
