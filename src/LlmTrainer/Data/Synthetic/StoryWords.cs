namespace LlmTrainer.Data;

/// <summary>The word lists the synthetic stories draw their slots from.</summary>
internal static class StoryWords
{
    public static readonly string[] GirlNames =
    [
        "Lily", "Mia", "Emma", "Sophie", "Anna", "Lucy", "Ella", "Zoe", "Chloe", "Grace", "Ruby", "Rose", "Daisy", "Ivy", "Hannah",
        "Sara", "Maya", "Nora", "Alice", "Clara", "Julia", "Molly", "Amy", "Kate", "Lena", "Nina", "Rosa", "Tara", "Wendy", "Bella",
        "Olivia", "Ava", "Isla", "Freya", "Poppy", "Hazel", "Violet", "Luna", "Stella", "Penny", "Ellie", "Abby", "Fiona", "Gina",
        "Holly", "Iris", "Jenny", "Kira", "Leah", "Megan", "Naomi", "Paula", "Quinn", "Rita", "Susie", "Tina", "Ursula", "Vera",
        "Willa", "Yara", "Zara", "Amara", "Bianca", "Cora", "Dina", "Edith", "Flora", "Greta", "Heidi", "Ingrid", "Jade", "Kiki",
        "Lola", "Mabel", "Nell", "Opal", "Pearl", "Rhea", "Sadie", "Thea", "Wren", "Aria", "Beth", "Carla", "Dora", "Elsa", "Fay",
        "Gemma", "Hope", "Joy", "Lottie", "Maisie", "Millie", "Nadia", "Orla", "Pia", "Rina", "Selma", "Tilly", "Uma", "Vivi",
    ];

    public static readonly string[] BoyNames =
    [
        "Tom", "Ben", "Max", "Sam", "Leo", "Jack", "Tim", "Finn", "Noah", "Liam", "Oscar", "Jake", "Luke", "Adam", "Eli",
        "Owen", "Ryan", "Hugo", "Theo", "Milo", "Jonas", "Felix", "Oliver", "Henry", "Arthur", "Charlie", "Danny", "Ethan", "Frank",
        "George", "Harry", "Ian", "Joe", "Kevin", "Louis", "Mark", "Nick", "Otto", "Peter", "Quentin", "Ralph", "Simon", "Toby",
        "Victor", "Walter", "Xavier", "Yusuf", "Zack", "Alfie", "Bruno", "Caleb", "Dylan", "Eddie", "Fred", "Gus", "Hank", "Isaac",
        "Jasper", "Kai", "Lucas", "Mason", "Nate", "Omar", "Pablo", "Ronan", "Seth", "Teddy", "Umar", "Vince", "Wyatt", "Arlo",
        "Billy", "Cody", "Dexter", "Emil", "Flynn", "Gabe", "Harvey", "Igor", "Jimmy", "Karl", "Lenny", "Marco", "Ned", "Ollie",
        "Percy", "Rex", "Stan", "Tariq", "Vlad", "Wes", "Ari", "Bobby", "Chris", "Duncan", "Ezra", "Jude", "Miles", "Rory", "Tyler",
    ];

    public static readonly string[] PetNames =
    [
        "Pip", "Buddy", "Coco", "Biscuit", "Pepper", "Whiskers", "Fluffy", "Patch", "Sunny", "Muffin", "Nutmeg", "Ziggy", "Bubbles",
        "Cookie", "Peanut", "Ginger", "Shadow", "Snowball", "Tiger", "Rusty", "Button", "Pebble", "Clover", "Maple", "Honey",
        "Waffles", "Noodle", "Pickles", "Sprinkles", "Jellybean", "Marshmallow", "Acorn", "Bramble", "Thistle", "Puddle",
        "Twinkle", "Dotty", "Sparky", "Bouncer", "Scout", "Rascal", "Smudge", "Toffee", "Pumpkin", "Blossom", "Fudge", "Mochi",
        "Skipper", "Tumble", "Wiggles", "Nibbles", "Squeaky", "Dash", "Fuzzy", "Puff", "Ripple", "Sprout", "Truffle",
    ];

    public static readonly string[] Animals =
    [
        "cat", "dog", "bunny", "rabbit", "bear", "fox", "owl", "mouse", "duck", "frog", "bird", "squirrel", "turtle", "lion",
        "tiger", "elephant", "monkey", "giraffe", "horse", "pony", "cow", "pig", "sheep", "goat", "chicken", "hen", "puppy",
        "kitten", "deer", "wolf", "raccoon", "hedgehog", "penguin", "seal", "whale", "dolphin", "fish", "butterfly", "bee",
        "ladybug", "snail", "ant", "crab", "octopus", "zebra", "kangaroo", "koala", "panda", "hippo", "camel", "parrot",
        "robin", "sparrow", "swan", "goose", "beaver", "otter", "badger", "mole", "lamb", "donkey", "dragon", "unicorn",
        "llama", "lizard", "chipmunk", "gorilla", "flamingo", "peacock", "pelican", "walrus", "moose", "rhino", "cheetah",
        "ostrich", "hamster", "bat", "toad", "caterpillar", "dragonfly", "firefly", "seahorse", "starfish", "jellyfish",
        "porcupine", "armadillo", "skunk", "weasel", "ferret", "meerkat", "lemur", "sloth", "tortoise", "heron", "stork",
        "woodpecker", "hummingbird", "toucan", "puffin", "beetle", "grasshopper", "cricket", "polar bear", "buffalo",
    ];

    public static readonly string[] CharacterTraits =
    [
        "little", "small", "brave", "curious", "kind", "shy", "happy", "silly", "clever", "gentle", "friendly", "playful",
        "tiny", "young", "cheerful", "busy", "quiet", "funny", "smart", "sleepy", "grumpy", "proud", "careful", "bold",
        "sweet", "helpful", "honest", "polite", "lively", "lonely", "bright", "fluffy", "spotted", "striped", "fast", "strong",
        "wise", "chatty", "clumsy", "daring", "dreamy", "eager", "fearless", "fussy", "giggly", "hungry", "jolly", "mighty",
        "nosy", "patient", "restless", "speedy", "thoughtful", "timid", "wobbly",
        "adventurous", "bashful", "cautious", "considerate", "courageous", "cuddly", "determined", "energetic", "generous",
        "graceful", "hardworking", "imaginative", "loyal", "mischievous", "modest", "noisy", "optimistic", "peppy",
        "plucky", "quirky", "resourceful", "sensible", "sincere", "spirited", "stubborn", "tidy", "trusty", "whimsical",
        "zany", "bouncy",
    ];

    public static readonly string[] Places =
    [
        "park", "garden", "forest", "beach", "farm", "school", "library", "playground", "kitchen", "backyard", "meadow",
        "river", "lake", "pond", "hill", "mountain", "cave", "village", "town", "city", "zoo", "market", "bakery", "castle",
        "island", "field", "barn", "jungle", "desert", "valley", "bridge", "street", "treehouse", "attic", "basement",
        "museum", "toy shop", "train station", "harbor", "lighthouse", "orchard", "swamp", "waterfall", "campsite",
        "playroom", "bedroom", "classroom", "fire station", "post office", "circus", "fair", "pool", "stream", "woods",
        "sandbox", "farmhouse", "windmill", "greenhouse", "pier", "cottage", "pumpkin patch", "bus stop", "flower shop",
        "ice rink", "aquarium", "skate park", "vegetable patch", "berry bush", "old oak tree", "sunflower field", "rocky shore",
        "snowy hill", "big tent", "candy store", "puppet show", "picnic spot", "secret garden", "cornfield", "cabin",
        "meadow by the creek", "bakery on the corner", "riverbank", "canyon", "hilltop", "apple orchard", "rose garden",
        "wheat field", "fishing dock", "old mill", "quiet library corner", "train yard", "farmers market", "sandy cove",
        "coral reef", "sunny porch", "chicken coop", "stable", "duck pond", "maze of hedges", "art room", "music room",
        "bookshop", "science fair", "carnival", "bowling alley", "ferry", "igloo", "marsh", "lagoon", "volcano", "glacier",
        "prairie", "tide pool", "bamboo grove",
    ];

    public static readonly string[] Toys =
    [
        "ball", "kite", "doll", "teddy bear", "toy car", "truck", "train", "boat", "drum", "book", "crayon", "hat", "balloon",
        "box", "bell", "blanket", "pillow", "bucket", "shovel", "wagon", "bike", "scooter", "puzzle", "robot", "rocket",
        "marble", "yo-yo", "jump rope", "spinning top", "whistle", "trumpet", "guitar", "flute", "xylophone", "tambourine",
        "camera", "telescope", "flashlight", "lantern", "paintbrush", "pencil", "notebook", "sticker", "puppet", "costume",
        "crown", "wand", "cape", "necklace", "bracelet", "ribbon", "umbrella", "backpack", "sled", "skateboard", "frisbee",
        "magnifying glass", "music box", "toy dinosaur", "toy plane", "rag doll", "kaleidoscope", "harmonica", "pinwheel",
        "snow globe", "treasure chest", "bubble wand", "race car", "fire truck", "rocking horse",
        "accordion", "banjo", "cymbal", "bongo drum", "teapot", "watering can", "rain boots", "sunglasses", "mittens",
        "scarf", "sweater", "pajamas", "slippers", "locket", "compass", "hourglass", "abacus", "spyglass", "origami crane",
        "paper lantern", "beanbag", "hula hoop", "pogo stick", "chalk", "clay", "glitter", "feather duster",
        "walkie-talkie", "wind chime", "toy tractor", "sailboat", "submarine",
    ];

    public static readonly string[] Foods =
    [
        "apple", "banana", "carrot", "sandwich", "pie", "cookie", "cake", "cupcake", "muffin", "lollipop", "ice cream",
        "honey", "bread", "cheese", "egg", "orange", "pear", "peach", "plum", "cherry", "strawberry", "blueberry", "grape",
        "watermelon", "pumpkin", "soup", "pancake", "waffle", "pizza", "noodle", "cracker", "pretzel", "donut", "popcorn",
        "sausage", "potato", "tomato", "cucumber", "lemon", "lime", "mango", "pineapple", "coconut", "apricot", "raisin",
        "walnut", "acorn", "sunflower seed", "candy cane", "gingerbread man", "jelly sandwich", "corn on the cob",
        "bowl of porridge", "slice of toast", "glass of milk", "cup of cocoa",
        "carrot cake", "oatmeal", "yogurt", "berry jam", "lemonade", "cinnamon roll", "muffin top", "dumpling", "taco",
        "burrito", "omelet", "salad", "cornbread", "meatball", "spaghetti", "rice ball", "fig", "kiwi", "papaya", "melon",
        "radish", "turnip", "beet", "pea", "bean", "broccoli", "spinach", "celery", "almond", "hazelnut", "chestnut",
        "caramel", "marmalade", "biscuit", "scone", "tart",
    ];

    public static readonly string[] NatureThings =
    [
        "shell", "rock", "stick", "leaf", "flower", "feather", "pinecone", "pebble", "seed", "mushroom", "daisy", "tulip",
        "rose", "dandelion", "clover", "snowflake", "icicle", "puddle", "cloud", "rainbow", "crystal", "fossil", "nest",
        "twig", "vine", "blossom", "sunflower", "lily pad", "spider web", "bird egg", "conker", "seashell", "starfish shell",
        "maple leaf", "oak leaf", "snail shell", "butterfly wing", "robin egg", "pine needle", "moss", "lichen",
        "sea glass", "driftwood", "river stone", "wildflower", "bluebell", "buttercup", "poppy", "cattail", "thistle",
        "honeycomb", "gemstone", "geode",
    ];

    public static readonly string[] Colors =
    [
        "red", "blue", "green", "yellow", "purple", "pink", "orange", "white", "black", "brown", "gray", "golden", "silver",
        "gold", "turquoise", "violet", "crimson", "lavender", "rosy", "emerald",
        "scarlet", "navy", "beige", "maroon", "teal", "amber", "indigo", "peach-colored", "lime green", "sky blue",
    ];

    public static readonly string[] ThingAdjectives =
    [
        "shiny", "soft", "old", "new", "big", "round", "heavy", "sparkly", "smooth", "bumpy", "fuzzy", "sticky", "muddy",
        "warm", "cold", "bright", "pretty", "strange", "special", "magic", "wooden", "dusty", "squeaky", "noisy", "giant",
        "long", "tall", "tiny", "little", "lovely", "beautiful", "funny", "fancy", "plain", "glittery", "colorful", "spotty",
        "stripy", "furry", "crunchy", "juicy", "sweet", "yummy", "delicious", "fresh", "creaky", "rusty", "dented", "wobbly",
        "sturdy", "precious", "favorite", "secret", "mysterious",
        "enormous", "miniature", "ancient", "gleaming", "polished", "tattered", "patched", "lumpy", "fluffy", "silky",
        "crinkly", "chipped", "faded", "spotless", "speckled", "dainty", "sturdy", "clunky", "jingly", "rattly", "chewy",
        "sour", "salty", "tangy", "crispy", "gooey", "velvet", "woolly", "feathery", "frosty",
    ];

    public static readonly string[] GoodFeelings =
    [
        "happy", "proud", "glad", "joyful", "cheerful", "delighted", "thankful", "grateful", "content", "peaceful", "cozy",
        "loved", "thrilled", "overjoyed", "relieved", "excited", "warm inside", "safe",
    ];

    public static readonly string[] BadFeelings =
    [
        "sad", "scared", "worried", "lonely", "upset", "disappointed", "frustrated", "nervous", "gloomy", "grumpy", "ashamed",
        "embarrassed", "anxious", "uneasy", "confused", "hurt", "frightened",
    ];

    /// <summary>Things to love doing: "to ..." and "went to the place to ...".</summary>
    public static readonly string[] Activities =
    [
        "play tag", "dance", "sing songs", "draw pictures", "paint", "read books", "jump rope", "run in the grass",
        "climb trees", "swim", "build towers", "bake cookies", "plant flowers", "fly kites", "ride a bike",
        "play hide and seek", "look at the stars", "collect shells", "pick berries", "splash in puddles", "count clouds",
        "tell jokes", "play the drum", "make sandcastles", "chase butterflies", "feed the ducks", "watch the trains",
        "play catch", "roll down the hill", "blow bubbles", "make mud pies", "skip stones", "play dress-up",
        "listen to stories", "hunt for bugs", "sled down the hill", "make paper boats", "play with blocks",
        "water the plants", "dig in the sand", "look for rainbows", "write little poems", "hum tunes", "play board games",
        "fold paper animals", "bounce on the bed", "whistle", "cartwheel across the lawn", "hop like a frog",
        "make funny faces", "stack pebbles", "braid grass", "visit the library",
        "juggle oranges", "paint rocks", "press flowers", "knit scarves", "play marbles", "race paper planes",
        "watch the fireflies", "look for four-leaf clovers", "feed the chickens", "gather eggs", "groom the pony",
        "sweep the porch", "arrange the bookshelf", "go fishing", "row a boat", "climb the rope ladder",
        "splash in the sprinkler", "roast marshmallows", "tell ghost stories", "practice the trumpet", "play leapfrog",
        "hunt for treasure", "decorate cookies", "carve pumpkins", "build snow forts", "pick apples", "count the waves",
        "watch the sunset", "play the ukulele", "whittle sticks",
    ];

    public static readonly string[] Relatives =
    [
        "mom", "dad", "grandma", "grandpa", "big sister", "big brother", "aunt", "uncle", "cousin", "baby brother",
        "baby sister", "nana", "papa",
    ];

    public static readonly string[] Helpers =
    [
        "teacher", "neighbor", "the old farmer", "the baker", "the kind librarian", "the park ranger", "the mail carrier",
        "the fire chief", "the nurse", "the zookeeper", "the fisherman", "the gardener", "the wise old owl", "the shopkeeper",
        "the lifeguard", "the carpenter", "the painter", "the beekeeper", "the mayor", "the bus driver",
        "the lighthouse keeper", "the doctor",
    ];

    public static readonly string[] Times =
    [
        "morning", "afternoon", "evening", "night", "day", "sunny morning", "rainy afternoon", "windy day", "snowy morning",
        "cloudy day", "warm evening", "cold night", "bright day", "foggy morning", "spring day", "summer afternoon",
        "autumn morning", "winter evening", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
    ];

    public static readonly string[] Hiding =
    [
        "under the bed", "behind the couch", "in the tall grass", "under a big leaf", "behind a tree", "inside a box",
        "under the table", "in the sandbox", "next to the door", "under a pile of leaves", "behind the curtain",
        "inside a boot", "on top of the shelf", "in the toy basket", "under the slide", "beside the pond", "in the laundry",
        "inside the doghouse", "under a rock", "in a hollow log", "behind the flower pots", "in the pocket of a coat",
        "under the porch", "behind the shed", "in the flower bed", "beneath the stairs", "inside the mailbox",
        "in the bathtub", "under the car", "behind the bookshelf", "in the wheelbarrow", "inside a teapot",
    ];

    public static readonly string[] Adverbs =
    [
        "quickly", "slowly", "carefully", "happily", "sadly", "quietly", "loudly", "gently", "softly", "suddenly", "bravely",
        "proudly", "eagerly", "kindly", "politely", "nervously", "sleepily", "excitedly", "calmly", "patiently", "cheerfully",
        "shyly", "boldly", "gladly", "swiftly", "clumsily", "merrily", "anxiously", "curiously", "playfully",
    ];

    public static readonly string[] Movements =
    [
        "ran", "walked", "skipped", "hopped", "raced", "tiptoed", "wandered", "dashed", "strolled", "marched", "zoomed",
        "trotted", "scampered", "waddled", "danced", "climbed", "crawled", "rolled", "jogged", "bounced",
    ];

    public static readonly string[] Sounds =
    [
        "a loud bang", "a tiny squeak", "a soft cry", "a big splash", "a strange buzz", "a funny giggle", "a low growl",
        "a sad meow", "a quiet whimper", "a happy chirp", "a loud crash", "a gentle tapping", "a rustle in the bushes",
        "a faraway whistle", "a sharp crack", "a deep rumble", "a little sneeze", "a sleepy yawn",
        "a noisy honk", "a faint jingle", "a cheerful whistle", "a muffled thud", "a curious sniffle", "a grumbling snore",
        "a sudden hiss", "a merry chuckle", "a scratchy scrape", "a fluttering of wings",
    ];

    public static readonly string[] Weather =
    [
        "the sun was shining", "the sky was blue", "the wind was blowing", "it was raining softly", "snow was falling",
        "the clouds were fluffy and white", "the air smelled of flowers", "the leaves were turning orange", "it was very hot",
        "a cool breeze was blowing", "the birds were singing", "the grass was wet with dew", "thunder rumbled far away",
        "the moon was bright", "fog covered the ground", "puddles shone everywhere",
        "the breeze was warm", "hail bounced on the roof", "a gentle drizzle was falling", "the frost sparkled",
        "the sunset painted the sky pink", "the stars twinkled", "the meadow smelled of hay", "icicles hung from the roof",
    ];

    public static readonly string[] Exclamations =
    [
        "Wow", "Oh no", "Hooray", "Look", "Yay", "Oh dear", "Hello", "Hi", "Come on", "Oops", "Uh oh", "Yippee", "Goodness",
        "Oh my", "Hey", "Ouch", "Phew", "Yes",
    ];

    public static readonly string[] Numbers =
    [
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty",
    ];

    public static readonly string[] BodyParts =
    [
        "paw", "tail", "nose", "ear", "foot", "hand", "knee", "wing", "leg", "arm", "toe", "finger", "head", "tummy", "elbow",
    ];

    public static readonly string[] Fears =
    [
        "the dark", "thunder", "the big slide", "deep water", "loud noises", "the tall ladder", "the old barn", "bees",
        "the vacuum cleaner", "the big waves", "shadows on the wall", "the first day of school", "the dentist",
        "the high bridge", "the swing going too high", "the wind howling", "the creaky stairs", "spiders",
        "the doctor", "the haunted-looking house", "the rumbling train", "the crowded market", "the tall giraffe",
        "sleeping alone", "the squeaky door", "the barking dog next door", "the deep snow", "the fireworks",
    ];

    public static readonly string[] Skills =
    [
        "ride a bike", "swim", "whistle", "tie shoelaces", "skip a stone", "jump rope", "climb the rope", "skate", "fly a kite",
        "bake bread", "play the piano", "catch a ball", "do a cartwheel", "read a whole book", "count to one hundred",
        "build a birdhouse", "juggle", "hop on one foot", "dive", "write a letter",
        "paddle a canoe", "knit a scarf", "plant a tree", "build a campfire", "sew a button", "draw a horse",
        "balance on a log", "speak a new language", "sing in the choir", "ride a pony",
    ];

    public static readonly string[] Makeables =
    [
        "sandcastle", "tower of blocks", "card", "birdhouse", "paper crown", "snowman", "fort of pillows",
        "cake", "kite", "painting", "necklace of beads", "little boat", "flower crown", "bridge of sticks",
        "cardboard rocket", "scarecrow", "bird feeder", "puppet theater", "garden bed", "treehouse ladder",
    ];

    public static readonly string[] Problems =
    [
        "was stuck in a tree", "had a hurt {part}", "could not find the way home", "had lost a favorite {toy}",
        "was stuck in the mud", "had dropped a {toy} into the pond", "could not reach the {food} on the high shelf",
        "was caught in a bush", "had a broken {toy}", "was too cold to move", "was stuck under a fallen branch",
        "had spilled all the {food}s", "was trapped behind a fence", "had a thorn in a {part}",
    ];

    public static readonly string[] Lessons =
    [
        "sharing makes everyone happy", "it is good to help others", "being brave does not mean you are not scared",
        "telling the truth is always best", "friends help each other", "practice makes things easier",
        "it is okay to ask for help", "being kind is more important than winning", "patience pays off",
        "every mistake is a chance to learn", "a little kindness goes a long way", "teamwork makes hard things easy",
        "it is better to be careful", "listening to others is important", "new friends can be found anywhere",
        "trying again is the best way to learn", "saying sorry can fix a lot", "even small helpers can do big things",
        "it is fine to be different", "hard work is worth it", "good things take time", "everyone makes mistakes",
        "the best things in life are free", "you should never give up", "a true friend sticks by you",
        "curiosity leads to wonderful things",
    ];
}
