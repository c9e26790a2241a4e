"""The search syntax users know from news search APIs, compiled to safe Elasticsearch queries.

    words          all of them (implicit AND)
    "a phrase"     the exact phrase
    +word -word    must / must not
    AND OR NOT     boolean operators (upper case), with ( parentheses )
    prefix*        words starting with "prefix"

User text never reaches a query parser of Elasticsearch: every leaf becomes a multi_match
(match / match_phrase / phrase prefix over the chosen fields), combined with bool queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from services.common.errors import QueryError

MAX_TERMS = 64
# A prefix expands to terms of the index: bound how many per prefix and how many prefixes,
# so "ab* ac* ad* ..." cannot become thousands of term clauses over three fields.
MAX_PREFIXES = 8
MAX_EXPANSIONS = 30
MAX_DEPTH = 12  # parentheses and negations
# Elasticsearch refuses bool queries nested deeper than 30 (indices.query.bool.max_nested_depth);
# the search request wraps the text query in two more levels.
MAX_BOOL_DEPTH = 24
_SPECIAL = '()"'
# Typos: a word of 5 to 7 letters may be one edit off, a longer one two; the first letter is
# taken as typed, and each word expands to a bounded number of the index's terms.
FUZZY_MIN_CHARS = 5
FUZZINESS = {"fuzziness": "AUTO:5,8", "prefix_length": 1, "max_expansions": 20}


@dataclass(frozen=True)
class Token:
    """One lexical unit and where it starts (0-based)."""

    kind: str  # WORD, PHRASE, LPAREN, RPAREN, AND, OR, NOT, PLUS, MINUS
    text: str
    pos: int


@dataclass(frozen=True)
class Leaf:
    """A word, a phrase or a prefix; ``required`` for a word written +word."""

    kind: str  # word | phrase | prefix
    text: str
    required: bool = False


@dataclass(frozen=True)
class Node:
    """A boolean combination."""

    op: str  # and | or | not
    children: tuple[Node | Leaf, ...]


Ast = Node | Leaf


def _error(code: str, message: str, pos: int | None = None) -> QueryError:
    where = f" (at character {pos + 1})" if pos is not None else ""
    return QueryError(message + where, code=code)


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens; an unterminated quote is an error."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("RPAREN", ch, i))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _error("unterminated_phrase", "a phrase is missing its closing quote", i)
            tokens.append(Token("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif ch in "+-" and i + 1 < n and not text[i + 1].isspace():
            tokens.append(Token("PLUS" if ch == "+" else "MINUS", ch, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            kind = word if word in ("AND", "OR", "NOT") else "WORD"
            tokens.append(Token(kind, word, start))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.length = length
        self.leaves = 0
        self.prefixes = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Ast:
        ast = self.or_expr(0)
        token = self.peek()
        if token is not None:
            raise _error("unbalanced_parentheses", "unexpected ')'", token.pos)
        return ast

    def or_expr(self, depth: int) -> Ast:
        parts = [self.and_expr(depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            parts.append(self.and_expr(depth))
        return parts[0] if len(parts) == 1 else Node("or", tuple(parts))

    def and_expr(self, depth: int) -> Ast:
        parts = [self.unary(depth)]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
            parts.append(self.unary(depth))
        return parts[0] if len(parts) == 1 else Node("and", tuple(parts))

    def unary(self, depth: int) -> Ast:
        token = self.peek()
        if token is None:
            raise _error("dangling_operator", "the query ends where a term was expected")
        if token.kind in ("NOT", "MINUS"):
            self.take()
            # Negations nest like parentheses (NOT NOT NOT ...): bound them the same way.
            if depth >= MAX_DEPTH:
                raise _error("too_deep", f"operators nest deeper than {MAX_DEPTH}", token.pos)
            return Node("not", (self.unary(depth + 1),))
        if token.kind == "PLUS":
            self.take()
            inner = self.unary(depth)
            # +word is never relaxed nor matched loosely: it is marked so.
            return Leaf(inner.kind, inner.text, True) if isinstance(inner, Leaf) else inner
        return self.primary(depth)

    def primary(self, depth: int) -> Ast:
        token = self.take()
        if token.kind == "LPAREN":
            if depth >= MAX_DEPTH:
                raise _error("too_deep", f"parentheses nest deeper than {MAX_DEPTH}", token.pos)
            if (nxt := self.peek()) is not None and nxt.kind == "RPAREN":
                raise _error("empty_group", "empty parentheses", token.pos)
            inner = self.or_expr(depth + 1)
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise _error("unbalanced_parentheses", "a '(' is never closed", token.pos)
            self.take()
            return inner
        if token.kind == "RPAREN":
            raise _error("unbalanced_parentheses", "unexpected ')'", token.pos)
        if token.kind in ("AND", "OR"):
            raise _error(
                "dangling_operator", f"'{token.text}' needs a term on each side", token.pos
            )
        self.leaves += 1
        if self.leaves > MAX_TERMS:
            raise _error("too_many_terms", f"at most {MAX_TERMS} terms", token.pos)
        if token.kind == "PHRASE":
            if not token.text.strip():
                raise _error("empty_phrase", "an empty phrase", token.pos)
            return Leaf("phrase", token.text)
        if token.text.endswith("*"):
            stem = token.text.rstrip("*")
            if len(stem) < 2:
                raise _error("short_prefix", "a prefix needs at least 2 characters", token.pos)
            self.prefixes += 1
            if self.prefixes > MAX_PREFIXES:
                raise _error("too_many_prefixes", f"at most {MAX_PREFIXES} prefixes", token.pos)
            return Leaf("prefix", stem)
        return Leaf("word", token.text)


def parse_query(text: str, *, max_chars: int = 500) -> Ast | None:
    """The syntax tree of ``text``, or None for an empty query; raises QueryError."""
    if len(text) > max_chars:
        raise QueryError(f"the query is longer than {max_chars} characters", code="query_too_long")
    tokens = tokenize(text)
    if not tokens:
        return None
    return _Parser(tokens, len(text)).parse()


def to_es(
    ast: Ast, fields: list[str], *, negated: bool = False, depth: int = 0, fuzzy: bool = False
) -> dict[str, Any]:
    """The Elasticsearch query for a syntax tree, searching ``fields`` (with boosts).

    ``fuzzy``: words that may be relaxed (plain, not +word, not negated) also match with
    typos (see ``FUZZINESS``).
    """
    if depth > MAX_BOOL_DEPTH:
        raise QueryError("the query nests too deeply", code="too_deep")
    if isinstance(ast, Leaf):
        return _leaf(ast, fields, negated, fuzzy=fuzzy)
    deeper = depth + 1
    if ast.op == "and":
        must = [
            to_es(a, fields, negated=negated, depth=deeper, fuzzy=fuzzy)
            for a in ast.children
            if not _negated(a)
        ]
        must_not = [
            to_es(a.children[0], fields, negated=not negated, depth=deeper)
            for a in ast.children
            if isinstance(a, Node) and _negated(a)
        ]
        body: dict[str, Any] = {"must": must or [{"match_all": {}}]}
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}
    if ast.op == "or":
        should = [
            to_es(a, fields, negated=negated, depth=deeper, fuzzy=fuzzy) for a in ast.children
        ]
        return {"bool": {"should": should, "minimum_should_match": 1}}
    inner = [to_es(a, fields, negated=not negated, depth=deeper) for a in ast.children]
    return {"bool": {"must": [{"match_all": {}}], "must_not": inner}}


def _leaf(leaf: Leaf, fields: list[str], negated: bool, *, fuzzy: bool = False) -> dict[str, Any]:
    # A word the analyzer drops entirely (a stop word such as "the") must not empty the result:
    # it matches everything where it is required and excludes nothing where it is negated.
    query: dict[str, Any] = {
        "query": leaf.text,
        "fields": fields,
        "zero_terms_query": "none" if negated else "all",
    }
    if leaf.kind == "phrase":
        query["type"] = "phrase"
    elif leaf.kind == "prefix":
        query["type"] = "phrase_prefix"
        query["max_expansions"] = MAX_EXPANSIONS
    else:
        query["operator"] = "and"  # "covid-19" is two tokens, both required
        if fuzzy and not negated and not leaf.required and len(leaf.text) >= FUZZY_MIN_CHARS:
            query.update(FUZZINESS)
    return {"multi_match": query}


def _negated(ast: Ast) -> bool:
    return isinstance(ast, Node) and ast.op == "not"


def positive_words(ast: Ast) -> str:
    """The words and phrases a query asks for, negations and prefixes left out, as plain text."""
    if isinstance(ast, Leaf):
        return "" if ast.kind == "prefix" else ast.text
    if ast.op == "not":
        return ""
    return " ".join(filter(None, (positive_words(child) for child in ast.children)))


Level = Literal["all", "most", "any"]


def relaxable(ast: Ast) -> list[Leaf]:
    """The plain words of the query's top level: the ones a relaxed search may leave out.

    Phrases, prefixes, +words, negations and anything inside OR or parentheses stay required.
    """
    if isinstance(ast, Leaf):
        return [ast] if ast.kind == "word" and not ast.required else []
    if ast.op != "and":
        return []
    return [c for c in ast.children if isinstance(c, Leaf) and c.kind == "word" and not c.required]


def levels(ast: Ast | None) -> list[Level]:
    """The matching levels to try in turn: all words, then all but one, then any one."""
    words = len(relaxable(ast)) if ast is not None else 0
    found: list[Level] = ["all"]
    if words >= 3:
        found.append("most")
    if words >= 2:
        found.append("any")
    return found


def has_typo_candidates(ast: Ast | None) -> bool:
    """Whether a typo-tolerant search could differ: a relaxable word of 5+ letters."""
    return ast is not None and any(len(w.text) >= FUZZY_MIN_CHARS for w in relaxable(ast))


def compile_query(
    ast: Ast, fields: list[str], *, level: Level = "all", fuzzy: bool = False
) -> dict[str, Any]:
    """The query at one matching level: every word, all relaxable words but one, or any one."""
    words = relaxable(ast)
    if level == "all" or not words:
        return to_es(ast, fields, fuzzy=fuzzy)
    rest = [] if isinstance(ast, Leaf) else [c for c in ast.children if c not in words]
    should = [_leaf(w, fields, False, fuzzy=fuzzy) for w in words]
    need = len(words) - 1 if level == "most" else 1
    body: dict[str, Any] = {"should": should, "minimum_should_match": need}
    if rest:
        body["must"] = [to_es(rest[0] if len(rest) == 1 else Node("and", tuple(rest)), fields)]
    return {"bool": body}
