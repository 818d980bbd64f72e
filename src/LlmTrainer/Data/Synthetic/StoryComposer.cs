using System.Text;
using static LlmTrainer.Data.StoryWords;
using static LlmTrainer.Data.Text;

namespace LlmTrainer.Data;

/// <summary>
/// Writes one TinyStories-like story: an opening that introduces a character, one of several plots (with its
/// own cause and effect, feelings and dialogue) and an ending, each beat chosen among phrasings and filled from
/// the word lists. Everything it draws comes from the generator it is given.
/// </summary>
internal sealed class StoryComposer
{
    private readonly Xoshiro256 _rng;
    private readonly StringBuilder _story = new();
    private readonly StringBuilder _paragraph = new();
    private StoryCharacter _hero = null!;
    private StoryCharacter _friend = null!;
    private string _relative = "";
    private bool _friendIntroduced;

    public StoryComposer(Xoshiro256 rng) => _rng = rng;

    public string Compose()
    {
        _hero = NewCharacter(null);
        _friend = NewCharacter(_hero.Name);
        _relative = Pick(Relatives);
        Opening();
        Paragraph();
        switch (_rng.NextInt(12))
        {
            case 0: LostThing(); break;
            case 1: NewFriend(); break;
            case 2: HelpingOut(); break;
            case 3: FacingAFear(); break;
            case 4: Sharing(); break;
            case 5: Mistake(); break;
            case 6: RainyDay(); break;
            case 7: MakingSomething(); break;
            case 8: Discovery(); break;
            case 9: Race(); break;
            case 10: Gift(); break;
            default: LearningASkill(); break;
        }
        Paragraph();
        Ending();
        Paragraph();
        return _story.ToString().TrimEnd();
    }

    // ---- drawing -------------------------------------------------------------------------------------------------

    private string Pick(string[] list) => list[_rng.NextInt(list.Length)];

    private bool Chance(double p) => _rng.NextDouble() < p;

    private int Variant(int count) => _rng.NextInt(count);

    private StoryCharacter NewCharacter(string? notNamed)
    {
        bool female = Chance(0.5);
        bool animal = Chance(0.45);
        string name;
        do
        {
            name = animal && Chance(0.6) ? Pick(PetNames) : Pick(female ? GirlNames : BoyNames);
        }
        while (name == notNamed);
        string kind = animal ? Pick(Animals) : female ? "girl" : "boy";
        return new StoryCharacter(name, kind, female, Pick(CharacterTraits), animal);
    }

    private string Thing() => Variant(3) switch
    {
        0 => $"{Pick(ThingAdjectives)} {Pick(Colors)} {Pick(Toys)}",
        1 => $"{Pick(Colors)} {Pick(Toys)}",
        _ => $"{Pick(ThingAdjectives)} {Pick(Toys)}",
    };

    private string Problem() => Pick(Problems)
        .Replace("{part}", Pick(BodyParts), StringComparison.Ordinal)
        .Replace("{toy}", Pick(Toys), StringComparison.Ordinal)
        .Replace("{food}", Pick(Foods), StringComparison.Ordinal);

    // ---- writing -------------------------------------------------------------------------------------------------

    private void Say(string sentence)
    {
        if (_paragraph.Length > 0)
            _paragraph.Append(' ');
        _paragraph.Append(CapitalizeSentences(Cap(sentence)));
    }

    /// <summary>Capitalises a word that starts a sentence inside the text ("… an idea. he ran" → "… an idea. He ran").</summary>
    private static string CapitalizeSentences(string text)
    {
        char[]? chars = null;
        for (int i = 2; i < text.Length; i++)
        {
            if (text[i - 1] == ' ' && text[i - 2] is '.' or '!' or '?' && char.IsLower(text[i]))
            {
                chars ??= text.ToCharArray();
                chars[i] = char.ToUpperInvariant(text[i]);
            }
        }
        return chars is null ? text : new string(chars);
    }

    /// <summary>Introduces the friend the first time a plot needs them.</summary>
    private void MeetFriend(string how)
    {
        if (_friendIntroduced)
            return;
        _friendIntroduced = true;
        Say(how.Replace("{friend}", _friend.Introduction, StringComparison.Ordinal));
    }

    /// <summary>
    /// The friend for a plot that introduces the friend itself: someone new if the opening already named one.
    /// </summary>
    private StoryCharacter FriendToIntroduce()
    {
        if (_friendIntroduced)
            _friend = NewCharacter(_hero.Name);
        _friendIntroduced = true;
        return _friend;
    }

    /// <summary>A line of dialogue with its speaker, in one of the usual shapes.</summary>
    private void Quote(StoryCharacter who, string words, string verb = "said")
    {
        string speaker = who.Name;
        string line = words.TrimEnd();
        char last = line[^1];
        switch (Variant(3))
        {
            case 0:
                Say($"\"{(last == '.' ? line[..^1] + "," : line)}\" {verb} {speaker}.");
                break;
            case 1:
                Say($"{speaker} {verb}, \"{line}\"");
                break;
            default:
                Say($"\"{(last == '.' ? line[..^1] + "," : line)}\" {speaker} {verb} {Pick(Adverbs)}.");
                break;
        }
    }

    private void Paragraph()
    {
        if (_paragraph.Length == 0)
            return;
        _story.Append(_paragraph).Append("\n\n");
        _paragraph.Clear();
    }

    private void Feel(StoryCharacter who, string[] feelings)
    {
        string f = Pick(feelings);
        switch (Variant(4))
        {
            case 0: Say($"{who.Name} felt {f}."); break;
            case 1: Say($"{who.He} was very {f}."); break;
            case 2: Say($"This made {who.Name} feel {f}."); break;
            default: Say($"{who.Name} felt so {f} that {who.He} {(feelings == GoodFeelings ? "smiled from ear to ear" : "wanted to cry")}."); break;
        }
    }

    // ---- story parts ---------------------------------------------------------------------------------------------

    private void Opening()
    {
        var h = _hero;
        switch (Variant(7))
        {
            case 0: Say($"Once upon a time, there was {h.Introduction}."); break;
            case 1: Say($"One {Pick(Times)}, {h.Introduction} woke up early."); break;
            case 2: Say($"There once was {h.Introduction} who lived near the {Pick(Places)}."); break;
            case 3: Say($"In a {Pick(ThingAdjectives)} little {(Chance(0.5) ? "village" : "town")} by the {(Chance(0.5) ? "river" : "sea")}, there lived {h.Introduction}."); break;
            case 4: Say($"Long ago, in a faraway {(Chance(0.5) ? "forest" : "land")}, lived {h.Introduction}."); break;
            case 5: Say($"Every day, {h.Introduction} liked to {Pick(Activities)} at the {Pick(Places)}."); break;
            default: Say($"{h.Name} was {WithA(h.Trait)} {h.Kind}, and {Pick(Weather)} on the day this story begins."); break;
        }
        int extras = 1 + Variant(2);
        for (int i = 0; i < extras; i++)
        {
            switch (Variant(7))
            {
                case 0: Say($"{h.He} loved to {Pick(Activities)} more than anything."); break;
                case 1: Say($"{h.His} favorite thing in the whole world was {WithA(Thing())}."); break;
                case 2: Say($"{h.He} lived with {h.His} {_relative} in a small house near the {Pick(Places)}."); break;
                case 3: MeetFriend($"{h.Name} had a best friend, {{friend}}."); break;
                case 4: Say($"Every {Pick(Times)}, {h.He} and {h.His} {_relative} would {Pick(Activities)} together."); break;
                case 5: Say($"{h.He} was very {Pick(CharacterTraits)}, and {h.He} always {Habit(h)}."); break;
                default: Say($"{h.He} had {Pick(Numbers)} {Pick(Colors)} {(Chance(0.5) ? "balloons" : "marbles")} and {WithA(Pick(ThingAdjectives))} {Pick(Toys)}."); break;
            }
        }
    }

    private string Habit(StoryCharacter h) => Variant(8) switch
    {
        0 => "said please and thank you",
        1 => $"shared {h.His} toys",
        2 => "asked lots of questions",
        3 => $"helped {h.His} {_relative}",
        4 => "laughed at funny things",
        5 => "looked at the sky and wondered about things",
        6 => $"carried {WithA(Pick(Toys))} everywhere",
        _ => $"hummed a little song when {h.He} was {Pick(GoodFeelings)}",
    };

    private void GoSomewhere(StoryCharacter who, string place)
    {
        switch (Variant(_friendIntroduced ? 4 : 3))
        {
            case 0: Say($"One day, {who.Name} {Pick(Movements)} to the {place}."); break;
            case 1: Say($"One {Pick(Times)}, {who.Name} went to the {place} with {who.His} {_relative}."); break;
            case 2: Say($"On {WithA(Pick(Times))} when {Pick(Weather)}, {who.Name} {Pick(Movements)} off to the {place}."); break;
            default: Say($"Later that day, {who.Name} and {_friend.Name} {Pick(Movements)} to the {place} to {Pick(Activities)}."); break;
        }
    }

    private void LostThing()
    {
        var h = _hero;
        string thing = Thing();
        string place = Pick(Places);
        MeetFriend($"{h.Name} had a friend, {{friend}}.");
        GoSomewhere(h, place);
        Say($"{h.He} took {h.His} {thing} along, because {h.He} never went anywhere without it.");
        Say(Variant(2) == 0
            ? $"{h.Name} played until {Pick(Weather)}, and then {h.He} looked down. The {thing} was gone!"
            : $"When it was time to go home, {h.Name} reached for {h.His} {thing}, but it was not there.");
        Feel(h, BadFeelings);
        Quote(h, $"{Pick(["Oh no", "Oh dear", "Uh oh"])}! Where is my {LastWord(thing)}?", Pick(["cried", "said", "shouted"]));
        Paragraph();
        Say($"{_friend.Name} saw that {h.Name} was {Pick(BadFeelings)}.");
        Quote(_friend, $"Don't worry, {h.Name}. I will help you look.");
        Say($"They looked {Pick(Hiding)}, and they looked {Pick(Hiding)}, but they could not find it.");
        if (Chance(0.5))
            Say($"Then {_friend.Name} heard {Pick(Sounds)} coming from {Pick(Hiding)}.");
        Say($"At last, {h.Name} found the {thing} {Pick(Hiding)}.");
        Say($"{Pick(["It must have rolled there", "A playful squirrel had carried it there", "The wind had blown it there", $"{h.He} had dropped it there without noticing"])}.");
        Feel(h, GoodFeelings);
        Quote(h, $"Thank you, {_friend.Name}! You are a good friend.");
        if (Chance(0.5))
            Say($"After that, {h.Name} always kept {h.His} {LastWord(thing)} {Pick(["in a safe place", "close by", "in a special box", "in " + h.His + " pocket"])}.");
    }

    private void NewFriend()
    {
        var h = _hero;
        var f = FriendToIntroduce();
        string place = Pick(Places);
        Say($"{h.Name} had just moved to a new {(Chance(0.5) ? "town" : "home near the " + Pick(Places))}, and {h.He} did not know anyone.");
        Feel(h, ["lonely", "shy", "sad", "nervous"]);
        GoSomewhere(h, place);
        Say($"There, {h.He} saw {f.Introduction} who was trying to {Pick(Activities)} all alone.");
        Paragraph();
        Say($"{h.Name} wanted to say hello, but {h.He} felt {Pick(["shy", "nervous", "a little scared"])}.");
        Say($"{h.He} took a deep breath and {Pick(Movements)} over.");
        Quote(h, $"{Pick(["Hello", "Hi", "Hey"])}! My name is {h.Name}. Can I {Pick(Activities)} with you?", "asked");
        Quote(f, Variant(2) == 0 ? $"Yes! I would love that. I am {f.Name}." : $"Of course! I was hoping someone would come. I am {f.Name}.");
        Say($"They {Pick(Activities)} and {Pick(Activities)} until the {Pick(["sun went down", "stars came out", "bell rang", "rain started"])}.");
        Say($"{f.Name} showed {h.Name} {f.His} {Thing()}, and {h.Name} showed {f.Name} how to {Pick(Activities)}.");
        Feel(h, GoodFeelings);
    }

    private void HelpingOut()
    {
        var h = _hero;
        var f = FriendToIntroduce();
        string place = Pick(Places);
        GoSomewhere(h, place);
        Say($"Suddenly, {h.He} heard {Pick(Sounds)}.");
        Say($"{h.Name} looked around and saw {f.Introduction}. The poor {f.Kind} {Problem()}.");
        Quote(f, Pick(["Help! Please help me!", "Can you help me? I cannot do it by myself.", "Oh, what will I do?"]), Pick(["cried", "called", "said"]));
        Paragraph();
        Say($"{h.Name} wanted to help, but {h.He} was {Pick(["small", "not very strong", "only little", "not sure what to do"])}.");
        Say(Variant(3) switch
        {
            0 => $"Then {h.He} had an idea. {h.He} ran to get {WithA(Pick(["ladder", "long stick", "rope", "blanket", "bucket", "wagon", "flashlight", "bandage"]))}.",
            1 => $"So {h.He} {Pick(Movements)} back to ask {h.His} {_relative} and {Pick(Helpers)} for help.",
            _ => $"{h.He} thought very hard, and then {h.He} knew just what to do.",
        });
        Say($"Together, they {Pick(["pulled and pulled", "worked carefully", "tried again and again", "worked as a team"])}, and soon {f.Name} was {Pick(["safe", "free", "fine", "back home", "smiling again"])}.");
        Quote(f, $"Thank you, {h.Name}! You are so {Pick(["kind", "brave", "clever", "helpful"])}.");
        Say($"Because {h.Name} helped, {f.Name} {Pick(["was not scared anymore", "could go home", "felt much better", "gave " + h.Him + " a big hug"])}.");
        Feel(h, GoodFeelings);
    }

    private void FacingAFear()
    {
        var h = _hero;
        string fear = Pick(Fears);
        Say($"But there was one thing {h.Name} did not like: {h.He} was afraid of {fear}.");
        Say($"Whenever {h.He} thought about {fear}, {h.His} {Pick(BodyParts)} {Pick(["shook", "felt wobbly", "went cold", "trembled"])}.");
        Paragraph();
        Say($"One {Pick(Times)}, {h.His} {_relative} said it was time to face {fear}.");
        Quote(h, $"I can't! I am too {Pick(["scared", "little", "worried", "nervous"])}.", Pick(["whispered", "cried", "said"]));
        Say($"{Cap(h.His)} {_relative} {Pick(["hugged", "smiled at", "held the hand of"])} {h.Name}.");
        Say($"\"Being brave does not mean you are not scared. It means you try anyway,\" said {h.His} {_relative}.");
        Say($"{h.Name} took a deep breath. {h.He} {Pick(["counted to " + Pick(Numbers), "held " + h.His + " " + Pick(Toys) + " tight", "thought of something happy", "sang a little song"])}.");
        Say($"Then, {Pick(Adverbs)}, {h.He} {Pick(["stepped forward", "tried", "looked", "went closer"])}.");
        Say($"It was not so bad after all! In fact, it was {Pick(["fun", "exciting", "easy", "wonderful", "not scary at all"])}.");
        Feel(h, ["proud", "brave", "happy", "relieved", "thrilled"]);
    }

    private void Sharing()
    {
        var h = _hero;
        var f = _friend;
        bool food = Chance(0.5);
        string item = food ? Pick(Foods) : Thing();
        MeetFriend($"{h.Name} often played with {{friend}}.");
        Say($"One day, {h.Name} had {WithA(item)}. {h.He} {(food ? "wanted to eat it all by " + h.Him + "self" : "did not want anyone else to touch it")}.");
        Say($"{f.Name} came by and saw the {LastWord(item)}.");
        Quote(f, food ? $"That looks {Pick(["yummy", "delicious", "tasty"])}! Can I have some?" : $"That {LastWord(item)} looks fun! Can I play with it too?", "asked");
        Quote(h, $"No! It is mine.", Pick(["said", "shouted", "replied"]));
        Say($"{f.Name} looked {Pick(BadFeelings)} and walked away {Pick(["slowly", "quietly", "sadly"])}.");
        Paragraph();
        Say($"{h.Name} {(food ? "ate" : "played with")} the {LastWord(item)}, but it did not feel good anymore.");
        Say($"{h.He} remembered how {h.His} {_relative} always said that {Pick(Lessons)}.");
        Say($"So {h.Name} {Pick(Movements)} after {f.Name}.");
        Quote(h, food ? $"I am sorry, {f.Name}. Here, let's share it." : $"I am sorry, {f.Name}. Let's play with it together.");
        Say($"{f.Name} smiled a big smile. {(food ? "The two friends ate the " + LastWord(item) + " together, and it tasted even better." : "They played together all afternoon, and it was much more fun with two.")}");
        Feel(h, GoodFeelings);
    }

    private void Mistake()
    {
        var h = _hero;
        string thing = Thing();
        Say($"{Cap(h.His)} {_relative} had {WithA(thing)} that {Pick(["was very old", "came from far away", "was very special", "was a gift from a friend"])}.");
        Say($"\"Please be careful with it,\" said {h.His} {_relative}.");
        Say($"But one day, {h.Name} was {Pick(["playing ball", "dancing", "running around", "jumping"])} in the house, and {h.He} knocked it over. Crash!");
        Say($"The {LastWord(thing)} broke into {Pick(Numbers)} pieces.");
        Feel(h, ["scared", "worried", "ashamed", "sorry"]);
        Say($"{h.Name} hid the pieces {Pick(Hiding)} and said nothing.");
        Paragraph();
        Say($"That night, {h.Name} could not sleep. {h.He} felt {Pick(["a heavy feeling in " + h.His + " tummy", "bad inside", "very " + Pick(BadFeelings)])}.");
        Say($"In the morning, {h.He} went to {h.His} {_relative} and told the truth.");
        Quote(h, $"I am sorry. I broke your {LastWord(thing)}. I was {Pick(["playing where I should not", "not careful", "being silly"])}.");
        Say($"{Cap(h.His)} {_relative} was {Pick(["quiet for a moment", "a little sad", "surprised"])}, but then {Pick(["smiled", "gave " + h.Him + " a hug", "nodded"])}.");
        Say($"\"Thank you for telling me the truth. That was very brave. Let's fix it together,\" said {h.His} {_relative}.");
        Say($"They {Pick(["glued the pieces back together", "fixed it with tape and glue", "made it as good as new"])}, and {h.Name} felt {Pick(GoodFeelings)} again.");
    }

    private void RainyDay()
    {
        var h = _hero;
        string place = Pick(Places);
        string activity = Pick(Activities);
        MeetFriend($"{h.Name} had a good friend, {{friend}}.");
        Say($"{h.Name} and {_friend.Name} had a plan. They were going to go to the {place} to {activity}.");
        Say($"But when they looked outside, {Pick(["it was raining hard", "dark clouds filled the sky", "the wind was howling", "snow was falling thick and fast", "thunder was booming"])}.");
        Feel(h, ["disappointed", "sad", "grumpy", "upset"]);
        Quote(h, $"Now we can't {activity}!", Pick(["groaned", "said", "sighed"]));
        Paragraph();
        Say($"{Cap(h.His)} {_relative} had an idea.");
        Say($"\"Why don't you {Pick(["build a fort of pillows", "bake cookies", "paint pictures", "play a board game", "put on a puppet show", "make paper boats"])} inside?\"");
        Say($"So they did. They used {WithA(Thing())}, {Pick(Numbers)} {Pick(["blankets", "chairs", "boxes", "crayons", "cups"])} and lots of {Pick(["imagination", "giggles", "glue", "tape"])}.");
        Say($"Soon they were laughing so much that they forgot all about the {Pick(["rain", "weather", "storm", "clouds"])}.");
        if (Chance(0.6))
            Say($"When {Pick(["the rain stopped", "the sun came out", "the clouds went away"])}, there was a {Pick(Colors)} and {Pick(Colors)} rainbow in the sky.");
        Feel(h, GoodFeelings);
    }

    private void MakingSomething()
    {
        var h = _hero;
        string made = Pick(Makeables);
        Say($"One {Pick(Times)}, {h.Name} decided to make {WithA(made)}.");
        Say($"{h.He} got {WithA(Pick(ThingAdjectives))} {Pick(["box", "bucket", "bag", "basket"])} of {Pick(["sticks", "sand", "paper", "blocks", "beads", "paint", "string", "leaves"])} and started to work.");
        Say($"But {Pick(["a big wave", "a gust of wind", "a playful puppy", "a bump of the table", "a heavy raindrop"])} came, and everything fell down!");
        Feel(h, ["frustrated", "sad", "upset", "disappointed"]);
        Quote(h, $"It's no use. I can't do it.", Pick(["sighed", "said", "grumbled"]));
        Paragraph();
        MeetFriend($"Just then, {{friend}} came by.");
        Say($"{_friend.Name} sat down next to {h.Him}.");
        Quote(_friend, $"Let's try again. {Pick(["Two heads are better than one", "I will hold it steady", "This time we can make it stronger", "We can do it together"])}!");
        Say($"So they tried again, {Pick(Adverbs)} and {Pick(Adverbs)}.");
        Say($"This time they {Pick(["used more glue", "built it away from the water", "made the bottom wider", "worked slowly", "followed the picture"])}, so it did not fall.");
        Say($"When they were done, the {made} stood there, {Pick(Finished)} and {Pick(Finished)}.");
        Feel(h, GoodFeelings);
    }

    private void Discovery()
    {
        var h = _hero;
        string place = Pick(Places);
        string found = Pick(["an old map", "a tiny key", "a wooden box", "a glowing stone", "a secret door", "a bottle with a note", "a trail of " + Pick(Colors) + " feathers"]);
        GoSomewhere(h, place);
        Say($"Near the {Pick(["edge of the path", "big rock", "old fence", "water", "tallest tree"])}, {h.He} found {found}.");
        Feel(h, ["curious", "excited", "surprised", "amazed"]);
        Quote(h, $"{Pick(Exclamations)}! What is this?", Pick(["whispered", "said", "gasped"]));
        Paragraph();
        MeetFriend($"{h.He} ran to show it to {h.His} friend, {{friend}}.");
        Say($"{h.Name} and {_friend.Name} decided to follow it.");
        Say($"They went past the {Pick(Places)}, over the {Pick(["bridge", "hill", "stream", "log", "fence"])}, and into the {Pick(["woods", "tall grass", "cave", "garden", "field"])}.");
        Say($"At the end, they found {Pick(["a nest with " + Pick(Numbers) + " baby birds", "a secret garden full of " + Pick(NatureThings) + "s", "a box of " + Pick(Colors) + " " + Pick(Toys) + "s", "a surprise party for " + h.Name, "a family of " + Pick(Animals) + "s", "a pond full of " + Pick(["fish", "frogs", "lily pads"])])}.");
        Say($"It was the {Pick(["best", "most wonderful", "strangest", "happiest"])} thing {h.Name} had ever seen.");
        Feel(h, GoodFeelings);
    }

    private void Race()
    {
        var h = _hero;
        var f = _friend;
        string place = Pick(Places);
        Say($"One day, there was a big race at the {place}.");
        Say($"{h.Name} wanted to win more than anything. {h.He} had practiced for {Pick(Numbers)} days.");
        MeetFriend($"{h.His} friend, {{friend}}, was in the race too.");
        Say($"\"Ready, set, go!\" called {Pick(Helpers)}, and everyone {Pick(Movements)} off.");
        Paragraph();
        Say($"{h.Name} was in front. But then {h.He} heard {Pick(Sounds)} behind {h.Him}.");
        Say($"{f.Name} had tripped over {WithA(Pick(["rock", "root", "stick", "shoelace", "bump"]))} and hurt {f.His} {Pick(BodyParts)}.");
        Say($"{h.Name} stopped. If {h.He} kept going, {h.He} would win. But {f.Name} needed help.");
        Say($"So {h.Name} went back and helped {f.Name} up.");
        Quote(f, $"Why did you stop? You could have won!", "asked");
        Quote(h, $"Because you are my friend, and friends come first.");
        Say($"They {Pick(["walked", "hopped", "limped"])} to the finish line together, and everyone cheered {Pick(["louder than ever", "for them", "and clapped"])}.");
        Feel(h, GoodFeelings);
    }

    private void Gift()
    {
        var h = _hero;
        string who = Pick(Relatives);
        Say($"Tomorrow was {h.His} {who}'s birthday, and {h.Name} wanted to give {Pick(["something special", "a present", "a surprise"])}.");
        Say($"But {h.He} had no money to buy anything.");
        Feel(h, ["worried", "puzzled", "sad"]);
        Paragraph();
        Say($"Then {h.He} had an idea. {h.He} {Pick(Movements)} to the {Pick(Places)} and collected {Pick(Numbers)} {Pick(NatureThings)}s.");
        Say($"{h.He} used them to make {WithA(Pick(Makeables))} and {Pick(["painted it " + Pick(Colors), "tied it with a " + Pick(Colors) + " ribbon", "wrote a little note", "drew a heart on it"])}.");
        Say($"The next morning, {h.Name} gave the gift to {h.His} {who}.");
        Say($"\"{Pick(["It is beautiful", "I love it", "This is the best present ever", "You made this yourself"])}!\" said {h.His} {who}, with {Pick(["tears of joy", "a big smile", "a happy laugh"])}.");
        Say($"{h.Name} learned that the best gifts come from the heart.");
        Feel(h, GoodFeelings);
    }

    private void LearningASkill()
    {
        var h = _hero;
        string skill = Pick(Skills);
        Say($"{h.Name} really wanted to learn how to {skill}.");
        Say($"All {h.His} friends could do it, and {h.He} felt {Pick(["left out", "a little jealous", "impatient"])}.");
        Say($"The first time {h.He} tried, {h.He} {Pick(["fell down", "got it all wrong", "made a big mess", "wobbled and stopped", "dropped everything"])}.");
        Quote(h, $"I will never be able to {skill}!", Pick(["cried", "said", "shouted"]));
        Paragraph();
        Say($"{Cap(h.His)} {_relative} said, \"Everyone has to practice. Try a little every day.\"");
        Say($"So {h.Name} practiced every {Pick(["morning", "afternoon", "evening", "day"])}.");
        Say($"Some days it was hard, and some days it was {Pick(["easier", "fun", "a little better"])}.");
        Say($"Then one {Pick(Times)}, {h.He} tried again, and {h.He} did it! {h.He} could {skill}!");
        Quote(h, $"{Pick(Exclamations)}! I did it!", Pick(["shouted", "cheered", "laughed"]));
        Feel(h, ["proud", "happy", "thrilled", "overjoyed"]);
    }

    private void Ending()
    {
        var h = _hero;
        // Only a story that has met the friend can end with them.
        switch (_friendIntroduced ? Variant(8) : 1 + Variant(7))
        {
            case 0: Say($"From that day on, {h.Name} and {_friend.Name} were the best of friends."); break;
            case 1: Say($"{h.Name} smiled. It had been the best day ever."); break;
            case 2: Say($"That night, {h.Name} went to sleep feeling {Pick(GoodFeelings)}."); break;
            case 3: Say($"When {h.He} got home, {h.He} told {h.His} {_relative} all about {h.His} day."); break;
            case 4: Say($"And every time {h.Name} saw {WithA(Pick(Toys))} after that, {h.He} remembered this {Pick(["day", "adventure", "lesson"])}."); break;
            case 5: Say($"The sun went down, the stars came out, and {h.Name} was {Pick(GoodFeelings)}."); break;
            case 6: Say($"{h.Name} hugged {h.His} {_relative} and said, \"Today was a good day.\""); break;
            default: Say($"And so, {h.Name} {Pick(Movements)} home, {Pick(Adverbs)} humming a little song."); break;
        }
        if (Chance(0.45))
            Say($"{h.Name} learned that {Pick(Lessons)}.");
    }

    private static readonly string[] Finished = ["tall", "beautiful", "strong", "perfect", "sturdy", "lovely", "grand", "bright", "neat", "wonderful"];

    private static string LastWord(string phrase) => phrase[(phrase.LastIndexOf(' ') + 1)..];
}
