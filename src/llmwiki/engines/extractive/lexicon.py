"""Word lists the extractive engine reads names and phrases with.

Small, hand-written and embedded, so the engine needs no download and gives the same answer on
every machine. They are signals, not truth: a first name makes a capitalised pair likely to be a
person, a common word makes it likely to be a headline.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common given names across languages. Names that are also everyday words ("will", "mark") are
# kept apart in AMBIGUOUS_FIRST_NAMES: they count only with other evidence.
FIRST_NAMES = _words(
    """
    aaron abdul abhishek abigail adam adrian adriana ahmed aidan aiden aisha ajay akash akira
    akshay alan albert alberto alec alejandro aleksandr alessandro alex alexander alexandra
    alexandre alexei alexis alfred ali alice alicia alina alison allison alvaro amanda amber
    amelia amir amit amy ana anand ananya anders andre andrea andreas andrei andrej andres andrew
    andy angela angelica anil anita anja anjali ann anna anne annie anthony anton antoine antonio
    anya arjun arman armando arnav arthur arun arvind ashish ashley ashok astrid audrey austin
    ava avi avery barbara barry beatriz ben benedikt benjamin bernard beth betty bianca bill
    billy bjorn blake bob bobby boris brad bradley brandon brenda brendan brian bruce bruno bryan
    caitlin caleb camila camille cameron carl carla carlos carmen carol caroline carolyn casey
    catherine cecilia cedric chad chandra charles charlie charlotte chelsea chen-yu cheng chiara
    chip chloe
    chris christian christina christine christoph christopher chuck cindy cj claire clara
    claudia clement cody colin connor constantin courtney craig cristina cynthia dahlia
    daisy dale dan dana daniel daniela danielle danny dario darius dave david dawei dean debbie
    deborah deepak denis denise dennis derek devi devin diana diane diego dimitri dmitri
    dmitry dominic dominik donald donna doris dorothy doug douglas dustin dwight dylan eddie
    edgar eduardo edward edwin eileen elaine elena eli elias elijah elisa elizabeth ella ellen
    ellie elliot elon emil emily emma emmanuel enrique eric erica erik erin ernest esther ethan
    eugene eva evan evelyn fabian fabio farah fatima fei felipe felix fernando filip finn fiona
    florian frances francesca francesco francis francisco franck francois frank franz fred
    freddie frederick gabriel gabriela gabriele gail ganesh gareth gary gaurav gavin gemma
    geoffrey geoff george georgia gerald gerard gianluca gideon gilbert gina giorgio giovanni
    giulia glenn gloria gonzalo gordon graham greg gregory guido guillaume gustavo hadi hailey
    hamid hana hannah hans hao harold harper harri harrison harry harsh hassan heather hector
    heidi helen helena henrik henry hilary hiroshi holly howard hugo hui hussein hyun ian ibrahim
    igor ilya imran ines ingrid irene isaac isabel isabella ishaan ivan jack jackson jacob
    jacqueline jake jakob jakub james jamie jan jane janet janice jared jasmine jason javier jay
    jean jeff jeffrey jenna jennifer jenny jeremy jerome jerry jesse jessica jesus jia jian jie
    jill jim jimmy jin jing joan joanna joao jocelyn jodi joe joel johan johann johannes john
    johnny jon jonas jonathan jordan jorge jose joseph josh joshua joy juan judith judy jules
    julia julian julie julien jun junaid justin kai kamal kara karan karen karim karina karl
    karthik kate katherine kathleen kathryn katie katrin kavya kayla keith kelly ken kenji
    kenneth kevin khalid kim kimberly kiran kirk klaus kristen kristin kunal kurt kyle lana
    lara larry lars laura lauren laurent lawrence leah lee leila lena leo leon leonard leonardo
    leslie lex li-wei liam lilian lily lina linda lisa liz logan lorenzo louis louise luc luca
    lucas lucia lucy luis luka lukas lukasz luke lydia madeline madison magnus mahmoud maja
    malcolm manish manon manuel marc marcel marcelo marco marcus margaret maria mariana marie
    marina mario marion marisa marissa marek marta martha martin marty mary mason mateo matei
    mathieu matt matteo matthew matthias maurice max maxim maxime maximilian maya megan mehdi
    mei melanie melissa meredith mia michael michaela michel michele michelle miguel mike
    mikhail mila milan ming miriam mitchell mohamed mohammad mohammed monica morgan
    moritz muhammad mustafa nadia nancy naomi narendra natalia natalie nathan nathaniel neel
    neha neil nicholas nick nicola nicolas nicole niels nikhil nikita nikolai nils nina
    noah noam nora norman oleg olga oliver olivia olivier omar oriol oscar owen pablo pamela
    paolo parker pascal patricia patrick paul paula pavel pedro percy peter petra philip
    philipp phillip pierre piotr pooja prakash pranav prateek priya priyanka quentin quoc
    rachel rafael rahul raj rajesh ralph ramesh ramon randy raphael rashid raul ravi ray raymond
    rebecca reza ricardo richard rick rita rob robert roberto robin rodrigo roger rohan rohit
    roland roman ronald ronan rosa ross ruben rudolf russell ruth ryan sabrina sachin sahil
    salma sam samantha sameer samir samuel sander sandra sanjay santiago sara sarah sasha satya
    saul scott sean sebastian sergei sergey sergio seth shane shannon sharon shawn sheila
    shira shreya shruti siddharth simon simone sofia sonia sophia sophie stacy stanley stefan
    stefanie stella stephanie stephen steve steven stuart sudhir sue sumit sundar sunil suresh
    susan suzanne sven sylvia tamara tanya tara ted teresa terry thea theo theodore theresa
    thomas tim timothy tina tobias todd tom tomas tommy toni tony tracy travis trevor tri
    tristan troy tyler uma umar uri valentina valentin valerie vanessa varun vera veronica
    victoria vijay vikram vincent vinod viktor vivek vladimir walter wayne wei wendy wesley
    william willie wojciech xavier xi xin yan yang yann yasmin yi ying yoshua yu yuki yulia
    yuri yusuf yves zach zachary zain zhang zoe zoltan
    """
)

AMBIGUOUS_FIRST_NAMES = _words(
    """
    april art august autumn bill chase dawn faith grace hope hunter iris ivy jack joy june mark
    may miles pat rose ruby summer will
    """
)

# Frequent family names; a known surname after an unknown given name is some evidence.
SURNAMES = _words(
    """
    adams ahmed ali allen anderson bailey baker barnes bell bennett brooks brown bryant butler
    campbell carter chen clark cohen coleman collins cook cooper crawford cruz davies davis diaz
    dubois edwards evans fischer fisher flores foster garcia gomez gonzalez gordon graham gray
    green griffin gupta hall harris hayes henderson hernandez hill hoffmann howard hughes hunt
    ivanov jackson james jenkins johnson jones kelly khan kim king kumar lambert lee lewis li
    lin liu long lopez martin martinez meyer miller mitchell moore morgan morris murphy murray
    myers nelson nguyen park parker patel perez perry peterson phillips powell price ramirez
    reed reyes richardson rivera roberts robinson rodriguez rogers ross rossi russell sanchez
    sanders schmidt schneider scott shah sharma simmons singh smith stewart sullivan taylor
    thomas thompson torres turner walker wang ward watson weber white williams wilson wood
    wright wu yang young zhang zhao zhou
    """
)

# Verbs that follow a person who says, makes or shows something ("X explains", "X built").
SAY_VERBS = _words(
    """
    add added adds address addressed addresses admits announced announces answered answers
    argue argued argues ask asked asks believes breaks build builds built claimed claims
    compares concluded concludes covered covers created creates define defined defines
    demonstrate demonstrated demonstrates describe described describes designed designs developed
    develops discuss
    discussed discusses emphasizes explain explained explains founded gave gives highlighted
    highlights host hosted hosts insists interviewed interviews introduced introduces join
    joined joins launched launches led leads noted notes observed observes offered offers
    outlines pointed points predicted predicts presented presents proposed proposes provided
    provides published publishes pulled recalled recalls recommended recommends released
    releases replied reported reports responded said say says share shared shares show showed
    shows spoke speaks stripped suggested suggests talks taught teaches tell tells thinks told
    tweeted unpacks walk walks warned warns wrote writes
    """
)

# Words before a name that say it is a person ("researcher Jane Doe", "by Jane Doe").
ROLE_BEFORE = _words(
    """
    analyst author by ceo cofounder co-founder creator cto director dr economist editor
    engineer featuring founder host interviewing investor journalist mr mrs ms physicist prof
    professor researcher scientist with writer
    """
)

# Words after "Name," that say it is a person ("Jane Doe, CEO of ...").
ROLE_AFTER = _words(
    """
    author ceo chief cofounder co-founder creator cto director editor engineer founder head
    lead partner president professor researcher scientist senior vp
    """
)

# Name-shaped words that mark organisations, products and places rather than people.
ORG_WORDS = _words(
    """
    academy ai agency ag alliance association bank brain capital center centre co college
    commission committee company corp corporation council deepmind department foundation
    fund gmbh group hq inc institute journal lab labs limited llc ltd media ministry network
    news party press research school society studio studios systems team tech technologies
    times university ventures plc
    """
) | _words(
    # AI products whose names look like people's ("Claude Opus", "Devin Pro")
    """
    chatgpt claude codex copilot cursor deepseek gemini gpt grok haiku hugging llama
    midjourney mistral opus perplexity qwen sonnet sora
    """
)

# Function words and weak words: they never start, end or make up a key phrase.
STOPWORDS = _words(
    """
    a about above across actually after again against all almost along already also although
    always am among an and another any anyone anything are around as at away back be became
    because been before being below beneath best better between beyond both but by can cannot
    could did do does doing done down during each easy either else enough entire especially even
    ever every everything exactly far few finally first for from full further get gets getting
    go goes going gone good got great had has have having he her here hers herself him himself
    his how however i if in instead into is it its itself just last least less let like likely
    made make makes making many may maybe me might more most mostly much must my myself near
    nearly need needs neither never new next no none nor not nothing now of off often on once
    one only onto or other others our ours ourselves out over own per perhaps quite rather
    real really same several she should simply since so some something sometimes soon still such
    than that the their theirs them themselves then there these they thing things this those
    though through throughout thus to today together too toward towards truly two under
    unless until up upon us use used uses using very via was way ways we well were what whatever
    when where whether which while who whole whom whose why will with within without would yet
    you your yours yourself three four five six seven eight nine ten hundred thousand million
    billion trillion week weeks day days year years time times lot lots kind kinds bit
    multiple different specific various certain whose dozens
    """
)

# Months and days: capitalised by rule, never a page's subject.
CALENDAR = _words(
    """
    january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday
    """
)

# Everyday English and tech vocabulary. A capitalised word from this list is a headline word,
# not a name ("Pareto Frontier", "Curated Reads", "Red Hat", "Vision Transformers").
COMMON_WORDS = (
    STOPWORDS
    | _words(
        """
    ability able absolute abstract academic accept access accessible according account accuracy
    accurate achieve achieves act action active activity actual adaptive added adding address
    advance advanced advantage advice affect age agent agentic agents aggregate agile ahead aid
    aim algorithm algorithmic algorithms align alignment allowed alpha alternative amazing
    analysis analytics analyze ancient angle animal answer answers api app apple
    application applications applied apply approach approaches architecture architectures area
    areas argument art article articles artificial ascent ask aspect assessment assistant
    attack attention audio author authority auto automated automatic autonomous autonomy
    available average avoid award aware awesome backbone background bad balance banana base
    based baseline basic basics batch batching battle beat beginner beginners behavior
    behaviour behind believe bench benchmark benchmarking benchmarks benefit beta bet beyond
    big bigger bill billion black blind block blog blue board body book books boost boot both
    bottleneck box brain branch breaking breakthrough breakthroughs brief bright bring broad
    broken brown budget bug bugs build builder building builds built business buy cache call
    calls camera can capability capacity capital card care career case cases catch cause
    center central certain chain challenge challenges chance change changes chapter chart chat
    cheap check chief child children choice choose chunk circle city claim claims class classic
    clean clear click client climate clinical close closed cloud cluster code codebase
    codebases coding cognitive cold collapse collection color column combined come comes
    coming command comment common community compact company compare comparison complete
    complex compliance component compression compute computer computing concept concepts
    condition conference connect consistency constant construct content context continuous
    control core corner correct cost costs country course cover coverage create creative
    credit critical cross culture curated current curve custom customer cut cycle daily damage
    dark dashboard data database dataset date deal debate debugger debugging decision deep
    deeper default define definitive degree delegation deliver demo dense deploy deployment
    depth design designing desk detail detection dev develop developer developers development
    device diagram diffusion digital direct direction directions discovery discussion
    distillation distributed diverse doc document documents domain domains double draft drive
    driven driving drop dual dynamic dynamics early earth easy east economic economics
    economy edge edit edition education effect effective efficiency efficient effort electric
    embedding embeddings emerging empty enable end energy engine engineer engineering engineers
    english enterprise environment environments equation error errors essential evaluating
    evaluation event evidence evolution evolving example examples exit expert experts explained
    explaining exploring express extending extraction extreme fact factor fail failure fair
    fake fall false family fast faster feature features federal feedback field fields file
    files filter final finance find fine fine-tuning fire firm fix fixed flash flat flow focus
    follow food force forecast form format forward foundation framework frameworks free fresh
    friend frontier full function functional fund future gain game gap gated general generalizable
    generation generative get giant global goal gold golden good google government gpu
    gradient graph great green grid grind ground group growth guide guided hand handbook hard
    hardware hat head health heart heavy help helpful hidden high history hold home hot hour
    house how huge human hybrid idea ideas image images impact implicit important improve
    improving index industry inference information infrastructure inside insight insights
    instance integrating intelligence intelligent interactive interface internal interview
    intro introduction inverse issue issues item join journey judge just key kind king
    knowledge lab labs landscape language large last late latent law laws layer layers lead
    leader leading lean learn learning left legal lesson lessons level library life light limit
    limits line linear link list little live local logic long loop loss low machine machines
    magic main major maker makers making management manager map maps market massive master
    mastering math matrix matter mean measure media medical meet memory mental mesh meshes
    message meta method methods middle mind mini mission mobile mode model modeling models
    modern money monitoring month moon more morning motion move movie multi music name nano
    national native natural near need network networks neural new news next night node noise
    normal north note notebook notes novel number object off office official old one online
    open operation optimization optimizer option order organic origin original output outside
    overview owning page paper papers parallel part partner party pass past path pattern
    patterns peak people per perfect performance period person personal perspective phase
    physical pick picks piece pipeline place plan planning platform play player playground
    plus pocket point policy pool popular position positive post power practical practice
    prediction premium prep present press pretraining prime primer principle principles
    privacy private pro problem problems process product production products professional
    program programming progress project projects prompt prompting proof property protocol
    public pure purpose quality quantization quantum query question questions quick quiet
    radiance random range rank rate raw reach read reader reading reads ready real reason
    reasoner reasoning recent reconstruction record recurrent recursive red reference
    regression reinforcement relative release reliable report reports representation
    request required rescue research researcher researchers reset resource resources response
    rest result results return review reward rewards rich right rise risk road roadmap robot
    robotics robust role room root rule rules run running safe safety sample samples scale
    scaling scene school science scientific scientist scratch screen search season second
    secret secrets section security see seed self semantic send sense sequence series serve
    server service serving session set setting shape share shift short show side sign signal
    silent simple single site size skill skills small smart social soft software solution
    solutions solving sound source space sparse sparsity spatial special speech speed spring
    square stable stack stage standard star start state statement states station step steps
    stop store story strategy stream street strong structure student students studio study
    style subject success summary super support survey system systems table talk target task
    tasks taste teacher team tech technical technique techniques technology ten term test
    testing tests text the theory think thinking thought tier time tiny title today token tokenizer
    tokens tool toolkit tools top topic total touch tour track trade traffic train trained
    training transfer transform transformer transformers trend trends trial true trust truth
    turn tutorial type ultimate unified unit universal update upgrade usage user users value
    values version video videos view virtual vision visual voice volume volumetric walk war
    water wave web week weekly weight weights west white whole why wide wild win window wins
    wisdom word words work workflow workflows working world write writing year young zero zone
    figure episode issue vol item lecture appendix part round version
    """
    )
    | CALENDAR
)

# The vocabulary of writing about programs: never a tool's name on its own in lower case,
# though a title or a code block may hold it ("Introspecting function parameters", `select`)
CODE_WORDS = _words(
    """
    parameter variable row tag label element attribute flag config configuration layout
    template theme url route select insert delete expect generate render parse print import
    export handler callback header status exception trace log location distance region string
    integer array dictionary module package script shell terminal tab button folder directory
    schema password email host port warning input commit merge plugin extension expression
    operator keyword syntax character sentence paragraph width height font selector timestamp
    duration count sum offset sort match replace split upload download install cookie payload
    endpoint job queue worker thread disk storage bucket container credential certificate
    permission owner member repository workspace cell kernel
    """
)

# Whole fields, which every document of the field names, even in its title.
FIELDS = _words("ai ml llm rl nlp")

# Words and acronyms too generic to deserve a page on their own.
GENERIC_CONCEPTS = _words(
    """
    ai ml llm llms rl nlp gpu gpus cpu cpus api apis ui ux url urls pr prs dm irl tl dr tldr
    faq ceo cto phd usa us uk eu ok am pm it hr pdf js os id io sdk cli saas
    http https tech data model models agent agents system systems tool tools code paper
    papers video videos task tasks training learning research reasoning context attention
    building performance resources resource article articles news update week lab labs
    """
)

# Phrases made only of these words are too generic for a page ("data agents", "AI systems").
GENERIC_PHRASE_WORDS = GENERIC_CONCEPTS | _words(
    """
    application applications approach approaches benchmark benchmarks capability capabilities
    case cases challenge challenges example examples framework frameworks method methods
    problem problems result results solution solutions step steps way work workflow workflows
    language languages network networks time engineer engineers user users course courses
    guide guides tutorial tutorials series playlist talk talks lecture lectures overview
    """
)

# Leading parts of hyphenated vocabulary ("pre-trained", "open-source"), never of a name.
HYPHEN_PREFIXES = _words(
    """
    pre post non multi re co self sub un anti semi over under cross well high low long short
    one two three four five half full end top bottom real open built state
    """
)

# Trailing parts of a hyphenated token that describe rather than name ("Zip-NeRF-style").
HYPHEN_SUFFIXES = _words(
    """
    aware based centric compatible dependent driven enabled era first free friendly grade
    guided isolated level like mediated native only powered scale sized specific style
    """
)

ABBREVIATIONS = _words("e.g i.e vs etc dr mr mrs ms prof st fig al approx no cf")

# Sites whose first two path parts are an owner and a project ("github.com/simonw/dclient"),
# and registries whose second part is a package ("pypi.org/project/llm-clip")
CODE_HOSTS = _words("github.com gitlab.com codeberg.org bitbucket.org huggingface.co git.sr.ht")
REGISTRIES = _words("pypi.org npmjs.com www.npmjs.com crates.io rubygems.org")
HOST_WORDS = _words("www docs doc api blog com org net io dev app co uk en")  # name no project
# "layout.html" written alone is a file, though it is spelled like a host
FILE_TYPES = _words("html htm py js ts json md txt css csv yml yaml toml sh xml sql db php rb")
