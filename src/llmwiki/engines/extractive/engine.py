"""The embedded default engine: no LLM, offline, deterministic and fast.

It reads a source with word lists and patterns only (see extractive_names, extractive_concepts,
extractive_numbers): the summary and claims are the document's most central sentences, people and
concepts are found from evidence, every fact is a verbatim sentence of the source, and the only
contradictions it reports are numbers that disagree about the same measured thing.

Nothing here keeps state between calls, so one instance is safe to share between threads. No
set of strings is ever iterated, so the output does not depend on PYTHONHASHSEED.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from llmwiki.engines.base import (
    Candidate,
    Contradiction,
    Extraction,
    Fact,
    KnownFact,
    Mention,
    Merge,
    SourceDoc,
    Usage,
    Verdict,
)
from llmwiki.engines.extractive.concepts import Concept, find_concepts
from llmwiki.engines.extractive.junk import is_junk
from llmwiki.engines.extractive.lexicon import (
    COMMON_WORDS,
    FIRST_NAMES,
    GENERIC_CONCEPTS,
    STOPWORDS,
)
from llmwiki.engines.extractive.names import (
    Person,
    find_people,
    person_sentences,
    profile_names,
)
from llmwiki.engines.extractive.numbers import Measure, disagree, measures, same_quantity
from llmwiki.engines.extractive.spelling import link_names
from llmwiki.engines.extractive.text import (
    BULLET,
    HEADING,
    NUMBERED_RE,
    PROSE,
    Document,
    Sentence,
    parse,
    section_sentences,
    title_words,
)
from llmwiki.identity import DEFINING, fact_key, is_acronym, normalize_key, same_entity
from llmwiki.normalize import prose_only, read_code, with_code
from llmwiki.pages import unlink

MAX_CLAIMS = 8
MAX_FACTS = 8
MAX_DESCRIPTION = 300
_DEFINES_BONUS = 100  # above any other score: a defining sentence is always chosen
_NEAR_START = 30  # "The HuggingFace team ...", "According to Demis Hassabis, ..."
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# "X is a …", "X, the …,", "X (…) is an …": the sentence says what X is
# a sentence opening on a pronoun refers to something said before it: not a lead
_PRONOUN = re.compile(
    r"^(?:He|She|They|It|His|Her|Their|Its|This|These|Those|That|We|Our|I|My|You|Your)\b"
)


class _Written:
    """Sentences read in the prose as the document writes them, with their inline code
    (`normalize.with_code`): a quote with holes where code was reads as nonsense."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._seen: dict[str, str] = {}

    def __call__(self, sentence: str) -> str:
        found = self._seen.get(sentence)
        if found is None:
            found = self._seen[sentence] = with_code(sentence, self._text)
        return found

    def mention(self, mention: Mention) -> Mention:
        facts = tuple(Fact(self(f.statement), self(f.quote)) for f in mention.facts)
        return replace(mention, description=self(mention.description), facts=facts)


class ExtractiveEngine:
    """Engine protocol implementation that needs no model and no network."""

    name = "extractive"

    def extract(self, doc: SourceDoc, known_titles: Sequence[str]) -> Extraction:
        text = prose_only(doc.text)  # names are never mined from code
        if doc.title and doc.title not in text[: len(doc.title) + 20]:
            # a title kept in frontmatter still says what the document is about
            text = f"{doc.title}\n\n{text}"
        parsed = parse(text)
        pool = _FactPool(parsed)
        people = find_people(parsed, profile_names(doc.links))
        person_words = frozenset(w for p in people for w in f"{p.first} {p.last}".split())
        mentions: list[tuple[int, Mention]] = []
        for person in people:
            mentions.append(_person_mention(parsed, pool, person))
        known = frozenset(normalize_key(t) for t in known_titles)
        for concept in find_concepts(
            parsed, person_words, read_code(doc.text), link_names(doc.links), known
        ):
            mentions.append(_concept_mention(parsed, pool, concept))
        mentions = _apply_known_titles(parsed, pool, mentions, known_titles)
        mentions = [(i, _qualified(text, m)) for i, m in mentions]
        title = title_words(parsed)
        mentions = [(i, m) for i, m in mentions if not is_junk(m.name, title)]
        mentions.sort(key=lambda item: item[0])
        summary, claims = _lead_and_claims(parsed)
        excerpt = " ".join(doc.meta.get("description", "").split())
        written = _Written(doc.text)
        return Extraction(
            title=doc.title,
            summary=excerpt or _ended(" ".join(written(s.text) for s in summary)),
            claims=tuple(Fact(written(s.text), written(s.text)) for s in claims),
            mentions=tuple(written.mention(m) for _, m in mentions),
            usage=Usage(),
        )

    def same_entity(self, mention: Mention, candidate: Candidate) -> Verdict:
        if candidate.kind and candidate.kind != mention.kind:
            # a candidate of another kind is this mention only by an exact name, which resolve
            # settles before it asks; a person is never a concept page, a source or an answer
            return Verdict(False)
        same = same_entity(
            mention.kind,
            (mention.name, *mention.aliases),
            candidate.kind,
            (candidate.title, *candidate.aliases),
        )
        return Verdict(same is not None)

    def merge(
        self, title: str, known: Sequence[KnownFact], new: Sequence[Fact], source: str
    ) -> Merge:
        seen = {fact_key(k.text) for k in known}
        fresh: list[Fact] = []
        for fact in new:
            key = fact_key(fact.statement)
            if key and key not in seen:
                seen.add(key)
                fresh.append(fact)
        found: list[Contradiction] = []
        others = [k for k in known if k.source and k.source != source]
        for fact in fresh:
            contradiction = _numeric_contradiction(fact, others, source, title)
            if contradiction is not None:
                found.append(contradiction)
        return Merge(tuple(fresh), tuple(found), Usage())

    def estimate(self, doc: SourceDoc) -> Usage:
        return Usage()


# --- facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    sentence: Sentence
    text: str  # verbatim statement: the sentence, or a bullet without its marks


class _FactPool:
    """The sentences good enough to be facts: prose, or a bullet that is one statement."""

    def __init__(self, doc: Document) -> None:
        self.items: dict[int, _Candidate] = {}
        self.lowered: dict[int, str] = {}
        for sentence in doc.sentences:
            if sentence.boilerplate or sentence.personal or sentence.words < 4:
                continue
            if sentence.kind == PROSE:
                self.items[sentence.index] = _Candidate(sentence, sentence.text)
            elif sentence.kind == BULLET and sentence.body.count(",") <= 1:
                self.items[sentence.index] = _Candidate(sentence, sentence.body)
            else:
                continue
            self.lowered[sentence.index] = sentence.scan.lower()

    def naming(self, names: Sequence[str]) -> list[int]:
        """Sentences of the pool in which any of `names` occurs."""
        patterns = [name_pattern(n) for n in names]
        # a cheap substring test first: most sentences name none of them
        needles = [re.split(r"[\s\-]+", n.strip())[0].lower() for n in names if n.strip()]
        return [
            i
            for i, candidate in self.items.items()
            if any(n in self.lowered[i] for n in needles)
            and any(p.search(candidate.sentence.scan) for p in patterns)
        ]

    def facts(self, indexes: Sequence[int], names: Sequence[str]) -> list[_Candidate]:
        """The most informative of these sentences, at most MAX_FACTS, in document order."""
        chosen = [self.items[i] for i in dict.fromkeys(indexes) if i in self.items]
        ranked = sorted(chosen, key=lambda c: (-_informative(c, names), c.sentence.index))
        return sorted(ranked[:MAX_FACTS], key=lambda c: c.sentence.index)


def _informative(candidate: _Candidate, names: Sequence[str]) -> float:
    words = [w for w in _WORD.findall(candidate.text) if w.lower() not in STOPWORDS]
    score = min(len(words), 25) + (4 if re.search(r"\d", candidate.text) else 0)
    text = candidate.text.removeprefix("The ")
    if any(text.startswith(n) for n in names):
        score += 3
        # the sentence that says what the entity is leads its page (#14): always a fact
        if any(text.startswith(n) and DEFINING.match(text[len(n) :]) for n in names if n):
            score += _DEFINES_BONUS
    return score


def _description(
    candidates: Sequence[_Candidate], names: Sequence[str], fallback: Sequence[_Candidate] = ()
) -> str:
    """A short sentence about the entity: one that names it in its first words (prose before
    bullets, the full name before an alias), else the first of `fallback`, else "" (the
    pipeline then writes its own lead rather than one about something else)."""
    short = [c for c in candidates if len(c.text) <= MAX_DESCRIPTION and not _PRONOUN.match(c.text)]
    patterns = [name_pattern(n) for n in names]
    for candidate in short:  # a defining sentence says what the entity is
        for pattern in patterns:
            found = pattern.search(candidate.text)
            if found and DEFINING.match(candidate.text[found.end() :]):
                return candidate.text
    for kind in (PROSE, BULLET):
        for pattern in patterns:
            for candidate in short:
                found = pattern.search(candidate.text)
                if candidate.sentence.kind == kind and found and found.start() <= _NEAR_START:
                    return candidate.text
    usable = [c for c in fallback if len(c.text) <= MAX_DESCRIPTION]
    usable = [c for c in usable if not _PRONOUN.match(c.text)]
    return usable[0].text if usable else ""


def _person_mention(doc: Document, pool: _FactPool, person: Person) -> tuple[int, Mention]:
    indexes = person_sentences(doc, person)
    names = [person.name, person.last] if person.surname_alias else [person.name]
    chosen = pool.facts(indexes, names)
    mention = Mention(
        name=person.name,
        kind="person",
        description=_description(chosen, names),
        aliases=(person.last,) if person.surname_alias else (),
        facts=tuple(Fact(c.text, c.text) for c in chosen),
    )
    return (indexes[0] if indexes else 0), mention


def _qualified(text: str, mention: Mention) -> Mention:
    """A concept named by two characters ("S3", "KV", "M1") is too short to be a page
    or a link by itself; where the text names it after a proper noun ("Amazon S3", "Deno KV",
    "Apple M1"), the two words are its name and the short one an alias."""
    # two characters: a single one ("X", "V", "2") is a variable, a numeral or a version
    if mention.kind != "concept" or len(re.sub(r"\W", "", mention.name)) != 2:
        return mention
    found = re.findall(rf"\b([A-Z][a-z]{{2,}}) {re.escape(mention.name)}\b", text)
    usable = [w for w in found if w.lower() not in COMMON_WORDS]
    if not usable:
        return mention
    qualifier = max(dict.fromkeys(usable), key=usable.count)  # the most frequent, first on ties
    return replace(
        mention,
        name=f"{qualifier} {mention.name}",
        aliases=tuple(dict.fromkeys((mention.name, *mention.aliases))),
    )


@functools.lru_cache(maxsize=4096)  # asked for every name of every page a source touches
def name_pattern(name: str) -> re.Pattern[str]:
    """Where `name` occurs in text: acronyms by case, other names with any case, spacing or
    hyphenation ("KV cache", "KV-cache") and an optional plural."""
    if is_acronym(name) and name.upper() == name.rstrip("s").upper():
        return re.compile(r"(?<![\w-])" + re.escape(name.rstrip("s")) + r"s?(?!\w)")
    words = [w for w in re.split(r"[\s\-]+", name) if w]
    last = words[-1]
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
        words[-1] = last[:-1]  # "World models" also finds "world-model"
    body = r"[\s\-]+".join(re.escape(w) for w in words)
    return re.compile(r"(?<!\w)" + body + r"(?:s|es)?(?!\w)", re.IGNORECASE)


_SECTION_LIMIT = 12


def section_hits(doc: Document, names: Sequence[str]) -> list[int]:
    """The sentences of every section whose heading names one of `names`: under the heading
    "Quillbeam", "It draws 250 cells per second" is about Quillbeam (#13.4)."""
    patterns = [name_pattern(n) for n in names if n.strip()]
    hits: list[int] = []
    for heading in doc.sentences:
        if heading.kind != HEADING or not any(p.search(heading.scan) for p in patterns):
            continue
        inside = [s.index for s in doc.sentences[heading.index + 1 :] if s.section == heading.index]
        hits.extend(inside[:_SECTION_LIMIT])
    return hits


def _concept_mention(doc: Document, pool: _FactPool, concept: Concept) -> tuple[int, Mention]:
    names = [concept.name, *concept.aliases]
    indexes = pool.naming(names) + section_hits(doc, names)
    lead: list[int] = []
    for heading in concept.subject_of:
        lead.extend(s.index for s in section_sentences(doc, heading))
    chosen = pool.facts(sorted(set(indexes) | set(lead)), names)
    leads = [c for c in chosen if c.sentence.index in lead]
    defining = [c for c in chosen if concept.aliases and all(n in c.text for n in names)]
    mention = Mention(
        name=concept.name,
        kind="concept",
        description=_description(defining + chosen, names, fallback=defining + leads),
        aliases=tuple(concept.aliases),
        facts=tuple(Fact(c.text, c.text) for c in chosen),
    )
    return concept.position, mention


def _apply_known_titles(
    doc: Document,
    pool: _FactPool,
    mentions: list[tuple[int, Mention]],
    known_titles: Sequence[str],
) -> list[tuple[int, Mention]]:
    """Existing page names found in the text win: they keep the wiki's spelling."""
    result = list(mentions)
    for title in dict.fromkeys(t.strip() for t in known_titles):
        key = normalize_key(title)
        if not key or key in GENERIC_CONCEPTS or len(key) < 2:
            continue
        pattern = name_pattern(title)
        hits = [s.index for s in doc.sentences if not s.boilerplate and pattern.search(s.scan)]
        if not hits:
            continue
        found = False
        for i, (position, mention) in enumerate(result):
            names = [normalize_key(mention.name)]
            aliases = [normalize_key(a) for a in mention.aliases]
            if key in names:
                result[i] = (position, _renamed(mention, title, mention.aliases))
                found = True
            elif key in aliases and mention.kind == "concept":
                others = tuple(a for a in mention.aliases if normalize_key(a) != key)
                result[i] = (position, _renamed(mention, title, (mention.name, *others)))
                found = True
            elif key in aliases:
                found = True
            if found:
                break
        if not found:
            result.append((hits[0], _known_mention(doc, pool, title, hits)))
    return result


def _renamed(mention: Mention, name: str, aliases: tuple[str, ...]) -> Mention:
    return Mention(name, mention.kind, mention.description, aliases, mention.facts)


def _known_mention(doc: Document, pool: _FactPool, title: str, hits: list[int]) -> Mention:
    chosen = pool.facts(hits + section_hits(doc, [title]), [title])
    words = title.split()
    person = len(words) in (2, 3) and words[0].lower() in FIRST_NAMES and title.istitle()
    return Mention(
        name=title,
        kind="person" if person else "concept",
        description=_description(chosen, [title]),
        facts=tuple(Fact(c.text, c.text) for c in chosen),
    )


# --- summary and claims ---------------------------------------------------------------------


def _content_words(text: str) -> list[str]:
    words: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower().strip("'’-")
        if len(low) > 2 and low not in STOPWORDS:
            words.append(low[:-1] if low.endswith("s") and len(low) > 4 else low)
    return list(dict.fromkeys(words))


def _lead_and_claims(doc: Document) -> tuple[list[Sentence], list[Sentence]]:
    """The 2-3 most central sentences as a lead, then the next most central as claims."""
    frequency: dict[str, int] = {}
    for sentence in doc.sentences:
        if not sentence.boilerplate:
            for word in _content_words(sentence.scan):
                frequency[word] = frequency.get(word, 0) + 1
    candidates = [
        s
        for s in doc.sentences
        if s.kind == PROSE and not s.boilerplate and not s.personal and 8 <= s.words <= 60
    ]
    scores: dict[int, float] = {}
    for rank, sentence in enumerate(candidates):
        words = _content_words(sentence.scan)
        if not words:
            continue
        centrality = sum(math.log(frequency[w]) for w in words if frequency[w] > 1)
        score = centrality / math.sqrt(len(words))
        if rank < 4:
            score *= 1.5  # writers put the point first
        if re.search(r"\d", sentence.text):
            score *= 1.15
        scores[sentence.index] = score
    ordered = sorted(candidates, key=lambda s: (-scores.get(s.index, 0.0), s.index))
    # the lead is the document's own opening, in order: central sentences picked from all
    # over stitch unrelated statements together. A note opens in the first person ("I wanted
    # to …") and that is its opening; a numbered step is not one ("2. Open the settings …")
    lead = _opening(
        [
            s
            for s in doc.sentences
            if s.kind == PROSE
            and not s.boilerplate
            and 8 <= s.words <= 60
            and not NUMBERED_RE.match(s.text)
        ]
    )
    lead_ids = {s.index for s in lead}
    # a sentence ending on a colon only introduces what follows ("... these methods:")
    claims = [s for s in ordered if s.index not in lead_ids and not s.text.endswith(":")]
    claims = claims[:MAX_CLAIMS]
    return sorted(lead, key=lambda s: s.index), sorted(claims, key=lambda s: s.index)


def _ended(summary: str) -> str:
    """An opening that introduces code ("… like this:") stops short, and says so."""
    return f"{summary[:-1]}…" if summary.endswith(":") else summary


def _opening(candidates: Sequence[Sentence]) -> list[Sentence]:
    """The first prose sentences of the document's first paragraph that has some, up to
    about 450 characters."""
    lead: list[Sentence] = []
    for sentence in candidates:
        if lead and (sentence.index != lead[-1].index + 1 or len(lead) >= 3):
            break
        if lead and sum(len(s.text) for s in lead) + len(sentence.text) > 450:
            break
        lead.append(sentence)
        if sentence.text.endswith(":"):
            break  # "… like this:" introduces code or a list: the text goes on after it
    if len(lead) > 1 and lead[-1].text.endswith(":"):
        lead.pop()
    return lead


# --- merging --------------------------------------------------------------------------------


def _numeric_contradiction(
    fact: Fact, known: Sequence[KnownFact], source: str, title: str = ""
) -> Contradiction | None:
    # on the page of X, "X draws 400 cells" and (under a heading "X") "It draws 250 cells"
    # measure the same thing: the page's own name is no part of what is measured
    own = name_pattern(title) if title.strip() else None

    def measured(text: str) -> list[Measure]:
        found = measures(text)
        if own is not None and own.search(text):
            found += measures(own.sub(" ", text))
        return found

    new_measures = measured(fact.statement)
    if not new_measures:
        return None
    for existing in known:
        text = unlink(existing.text)
        for old in measured(text):
            for new in new_measures:
                if same_quantity(old, new) and disagree(old, new):
                    reasoning = (
                        f"{existing.source} gives {old.text} and {source} gives {new.text} "
                        f"for the same measure ({' '.join(new.before + new.after)})."
                    )
                    return Contradiction(existing, fact, "factual", reasoning)
    return None


__all__ = ["ExtractiveEngine", "name_pattern"]
