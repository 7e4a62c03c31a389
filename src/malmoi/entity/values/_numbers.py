"""Numbers, and the kinds built on them: number, ordinal, money, duration.

Spoken numerals are composed first (:func:`compose`): Sino-Korean ones by their multipliers
(이천삼백 = 2 x 1000 + 3 x 100), in groups of four digits (사만 이천 = 4 x 10000 + 2000, the space
allowed after a group as Korean spacing puts it), digits and numerals mixed (4만2천), native ones
by tens and ones (스물다섯). Each kind then reads composed numbers with the words around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from malmoi.entity.values._lexer import ATTACHED, BROKEN, SPACED, Atom
from malmoi.entity.values._lexicon import (
    BIG,
    COMPARE,
    COUNTER,
    CUR,
    DIG,
    DURATION_SECONDS,
    DURING,
    DURWORD,
    FEW,
    FIRST,
    FRAC,
    FROM,
    HALF,
    MINUS,
    MUL,
    NAT,
    NTH,
    NUM,
    ORD,
    POINT,
    RANGE,
    SLASH,
    TENS,
    UNIT,
    UNTIL,
)

NUMBER = "number"  # the tag of a composed number; its value is a Num
_NUMERAL_TAGS = frozenset({DIG, MUL, BIG, NAT, TENS, NUM, FEW, MINUS})
_UNIT_ORDER = ["년", "개월", "달", "주", "주일", "일", "시간", "분", "초"]


@dataclass(frozen=True, slots=True)
class Num:
    """A composed number.

    ``det``: it ends in a native determiner (한, 두, 세, 네, 스무), a form that needs a counter
    after it; ``few``: it is 몇; ``weak``: a lone syllable that Kiwi read as a noun;
    ``without_last_il``: for a Sino number ending in 일 after a ten (이십일 = 21), its value
    without that 일 (20), for "삼월 이십일" = March 20th.
    """

    value: int | float
    style: str  # "digits", "sino", "native", "mixed"
    det: bool = False
    few: bool = False
    weak: bool = False
    without_last_il: int | None = None
    single: bool = True  # one atom


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time as said: its parts ((amount, unit) pairs), in seconds, and its finest unit."""

    parts: tuple[tuple[float, str], ...]
    seconds: float
    finest: str


def num_of(atom: Atom) -> Num | None:
    value = atom.get(NUMBER)
    return value if isinstance(value, Num) else None


def compose(atoms: list[Atom]) -> list[Atom]:
    """Replace each run of numeral atoms with one atom read as NUMBER (other readings kept)."""
    out: list[Atom] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        after_number = bool(out) and atom.link == ATTACHED and num_of(out[-1]) is not None
        if not any(tag in _NUMERAL_TAGS for tag, _ in atom.readings) or (after_number and atom.has(UNIT)):
            out.append(atom)
            i += 1
            continue
        read = _read_number(atoms, i)
        if read is None:
            out.append(atom)
            i += 1
            continue
        num, j = read
        if j < len(atoms) - 1 and atoms[j].has(FRAC) and atoms[j].link == ATTACHED:
            read_over = _read_number(atoms, j + 1)
            if read_over is not None and atoms[j + 1].link == ATTACHED and num.value:
                over, k = read_over
                num = Num(over.value / num.value, "sino", single=False)
                j = k
        first, last = atoms[i], atoms[j - 1]
        others = [r for r in first.readings if r[0] not in _NUMERAL_TAGS] if j == i + 1 else []
        text = first.text if j == i + 1 else _span_text(atoms[i:j])
        out.append(Atom(first.start, last.end, text, [(NUMBER, num), *others], first.link, num.weak, last.next_pos))
        i = j
    return out


def _span_text(atoms: Sequence[Atom]) -> str:
    parts = [atoms[0].text]
    for atom in atoms[1:]:
        parts.append((" " if atom.link == SPACED else "") + atom.text)
    return "".join(parts)


def _read_number(atoms: list[Atom], i: int) -> tuple[Num, int] | None:
    atom = atoms[i]
    if atom.has(MINUS):
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        # "-" is a minus only where it starts a value and touches the number: "-3", not "10 - 20".
        glued = nxt is not None and (nxt.link == ATTACHED or (nxt.link == SPACED and atom.text != "-"))
        if not glued or (atom.text == "-" and atom.link != BROKEN):
            return None
        read = _read_number(atoms, i + 1)
        if read is None:
            return None
        num, j = read
        return Num(-num.value, num.style, single=False), j
    if atom.has(FEW):
        return Num(3, "native", few=True), i + 1
    if atom.has(TENS) or (atom.has(NAT) and not atom.has(DIG)):
        return _read_native(atoms, i)
    return _read_sino(atoms, i)


def _read_native(atoms: list[Atom], i: int) -> tuple[Num, int] | None:
    atom = atoms[i]
    tens = atom.get(TENS)
    if isinstance(tens, tuple):
        value, det = tens
        j = i + 1
        if not det and j < len(atoms) and atoms[j].link != BROKEN:
            ones = atoms[j].get(NAT)
            if isinstance(ones, tuple):
                return Num(value + ones[0], "native", det=ones[1], single=False), j + 1
        return Num(value, "native", det=det, weak=atom.weak), j
    ones = atom.get(NAT)
    if isinstance(ones, tuple):
        return Num(ones[0], "native", det=ones[1], weak=atom.weak), i + 1
    return None


def _read_sino(atoms: list[Atom], i: int) -> tuple[Num, int] | None:
    """Sino-Korean numerals and digits: 오천팔백십구만백사십팔, 4만2천, 일점이삼."""
    total: float = 0
    section: float = 0
    pending: float | None = None
    last_mul, last_big = 10**5, 10**13
    previous = ""
    styles: set[str] = set()
    il_split: int | None = None
    j = i
    while j < len(atoms):
        atom = atoms[j]
        if j > i and (atom.link == BROKEN or (atom.link == SPACED and previous not in (MUL, BIG))):
            break
        dig, num, mul, big = atom.get(DIG), atom.get(NUM), atom.get(MUL), atom.get(BIG)
        if isinstance(dig, int) and not isinstance(dig, bool):
            if pending is not None or (dig == 0 and j > i):
                break
            if dig == 1 and previous == MUL and last_mul == 10:
                il_split = int(total + section)
            pending, previous = dig, DIG
            styles.add("sino")
        elif isinstance(num, (int, float)) and not isinstance(num, bool):
            if pending is not None or section or (j > i and previous != BIG):
                break
            pending, previous = num, NUM
            styles.add("digits")
        elif isinstance(mul, int) and not isinstance(mul, bool):
            if mul >= last_mul or pending == 0:
                break
            section += (pending if pending is not None else 1) * mul
            pending, last_mul, previous = None, mul, MUL
            styles.add("sino")
        elif isinstance(big, int) and not isinstance(big, bool):
            if big >= last_big or pending == 0:
                break
            total += (section + (pending or 0) or 1) * big
            section, pending, last_mul, last_big, previous = 0, None, 10**5, big, BIG
            styles.add("sino")
        elif previous == MUL and last_mul == 10 and isinstance(atom.get(NAT), tuple):
            ones = atom.get(NAT)
            assert isinstance(ones, tuple)
            pending, previous = ones[0], NAT  # 십하나 = 11
            styles.add("sino")
            j += 1
            break
        else:
            break
        j += 1
    if j == i:
        return None
    value = total + section + (pending or 0)
    if j + 1 < len(atoms) and atoms[j].has(POINT) and atoms[j].link == ATTACHED and previous in (DIG, NAT):
        decimals = ""
        k = j + 1
        while k < len(atoms) and atoms[k].link == ATTACHED and isinstance(atoms[k].get(DIG), int):
            decimals += str(atoms[k].get(DIG))
            k += 1
        if decimals:
            value = float(f"{int(value)}.{decimals}")
            j = k
    if j - i == 1 and atoms[i].has(NUM) and previous == NUM:
        value = pending or 0
    style = "mixed" if len(styles) > 1 else (styles.pop() if styles else "sino")
    weak = j - i == 1 and atoms[i].weak
    if il_split is not None and not (j == i + 1 or atoms[j - 1].get(DIG) == 1):
        il_split = None
    return Num(_tidy(value), style, weak=weak, without_last_il=il_split, single=j - i == 1), j


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


# -- kinds -----------------------------------------------------------------------------------

Found = tuple[int, int, object]  # (first item, one past the last item, resolved value)


def _counted_after(items: Sequence[Atom], i: int, *, any_noun: bool) -> bool:
    """Whether a counter follows item ``i``: a unit or a currency, or (``any_noun``) any noun
    by Kiwi or the end of the text (두 사람, 네 잔)."""
    if i + 1 < len(items) and items[i + 1].link != BROKEN:
        nxt = items[i + 1]
        if nxt.has(UNIT) or nxt.has(CUR) or nxt.has(COUNTER) or nxt.has(ORD):
            return True
    pos = items[i].next_pos
    return any_noun and (pos == "" or (pos.startswith("N") and pos != "NR"))


def find_numbers(items: Sequence[Atom]) -> list[Found]:
    out: list[Found] = []
    for i, item in enumerate(items):
        num = num_of(item)
        if num is None or num.few:
            continue
        if num.weak and not _counted_after(items, i, any_noun=False):
            continue  # 이 몸 (this body), 구 (a ward): a weak syllable needs a unit
        if num.det and num.single and not _counted_after(items, i, any_noun=True):
            continue  # 네, 맞아요: a determiner needs a counter
        out.append((i, i + 1, num.value))
    for i, item in enumerate(items):
        pair = item.get(SLASH)
        if isinstance(pair, tuple) and pair[1]:
            out.append((i, i + 1, _tidy(pair[0] / pair[1])))
    return out


def find_ordinals(items: Sequence[Atom]) -> list[Found]:
    out: list[Found] = []
    for i, item in enumerate(items):
        nth = item.get(NTH)
        if isinstance(nth, int) and nth > 0:
            end = i + 2 if i + 1 < len(items) and items[i + 1].has(COUNTER) and items[i + 1].link == ATTACHED else i + 1
            out.append((i, end, nth))
            continue
        if i + 1 >= len(items) or not items[i + 1].has(ORD) or items[i + 1].link == BROKEN:
            continue
        num = num_of(item)
        if item.has(FIRST):
            out.append((i, i + 2, 1))
        elif num is not None and not num.few and isinstance(num.value, int) and num.value > 0:
            out.append((i, i + 2, num.value))
    return out


def read_amount(items: Sequence[Atom], i: int) -> tuple[float, str, int] | None:
    """An amount of money at item ``i``: (amount, currency, end), or None."""
    n = len(items)
    item = items[i]
    currency = item.get(CUR)
    # a symbol or a code goes before the amount ($10, EUR 20); a Korean word after it (10달러)
    if isinstance(currency, tuple) and item.text.isascii() and i + 1 < n and items[i + 1].link != BROKEN:
        num = num_of(items[i + 1])
        if num is not None and not num.few:
            return num.value * currency[1], currency[0], i + 2  # $10, EUR 20
    num = num_of(item)
    if num is None or num.few or i + 1 >= n or items[i + 1].link == BROKEN:
        return None
    currency = items[i + 1].get(CUR)
    if not isinstance(currency, tuple):
        return None
    amount, code, j = num.value * currency[1], currency[0], i + 2
    # 2달러 23센트: a smaller coin of the same currency after it
    if j + 1 < n and items[j].link != BROKEN and items[j + 1].link != BROKEN:
        sub, coin = num_of(items[j]), items[j + 1].get(CUR)
        if sub is not None and isinstance(coin, tuple) and coin[0] == code and coin[1] < currency[1]:
            amount, j = amount + sub.value * coin[1], j + 2
    return amount, code, j


def _money(amount: float, code: str) -> dict[str, object]:
    return {"amount": _tidy(round(amount, 6)), "currency": code}


def find_money(items: Sequence[Atom]) -> list[Found]:
    out: list[Found] = []
    n = len(items)
    for i in range(n):
        read = read_amount(items, i)
        left_num = num_of(items[i])
        if read is None and left_num is not None and i + 2 < n and items[i + 1].has(RANGE):
            right = read_amount(items, i + 2)  # 10 - 20 달러: the currency after the second
            if right is not None and items[i + 2].link != BROKEN:
                out.append((i, right[2], {"from": _money(left_num.value, right[1]), "to": _money(right[0], right[1])}))
            continue
        if read is None:
            continue
        amount, code, j = read
        out.append((i, j, _money(amount, code)))
        if j < n and items[j].link != BROKEN:
            marker = items[j]
            if marker.has(RANGE) or marker.has(FROM):
                right = read_amount(items, j + 1) if j + 1 < n and items[j + 1].link != BROKEN else None
                if right is not None and right[1] == code:
                    end = right[2] + (1 if right[2] < n and items[right[2]].has(UNTIL) else 0)
                    out.append((i, end, {"from": _money(amount, code), "to": _money(right[0], code)}))
            comparison = marker.get(COMPARE)
            if comparison == "above":
                out.append((i, j + 1, {"from": _money(amount, code)}))
            elif comparison == "under":
                out.append((i, j + 1, {"to": _money(amount, code)}))
    return out


def read_duration(items: Sequence[Atom], i: int, *, few: bool = False) -> tuple[Duration, int] | None:
    """A duration at item ``i`` (3시간 30분, 이틀, 한 시간 반): (duration, end), or None."""
    parts: list[tuple[float, str]] = []
    j = i
    last_rank = -1
    while j < len(items):
        item = items[j]
        if j > i and item.link == BROKEN:
            break
        word = item.get(DURWORD)
        if isinstance(word, tuple):
            amount, unit = word
            step = 1
        else:
            num = num_of(item)
            unit_item = items[j + 1] if j + 1 < len(items) else None
            unit = unit_item.get(UNIT) if unit_item is not None and unit_item.link != BROKEN else None
            if num is None or (num.few and not few) or unit not in DURATION_SECONDS:
                break
            if unit == "분" and num.det:  # 세 분: three people, not three minutes
                break
            assert isinstance(unit, str)
            amount, step = num.value, 2
        rank = _UNIT_ORDER.index(unit)
        if rank <= last_rank:
            break
        last_rank = rank
        j += step
        parts.append((amount, unit))
        if j < len(items) and items[j].has(HALF) and items[j].link != BROKEN:
            parts.append((0.5, unit))
            j += 1
    if not parts:
        return None
    seconds = sum(amount * DURATION_SECONDS[unit] for amount, unit in parts)
    finest = parts[-1][1]
    if parts[-1][0] == 0.5 or not float(parts[-1][0]).is_integer():
        finest = _UNIT_ORDER[min(_UNIT_ORDER.index(finest) + 1, len(_UNIT_ORDER) - 1)]
        finest = {"개월": "일", "달": "일", "주": "일", "주일": "일"}.get(finest, finest)
    return Duration(tuple(parts), seconds, finest), j


def find_durations(items: Sequence[Atom]) -> list[Found]:
    out: list[Found] = []
    for i in range(len(items)):
        read = read_duration(items, i)
        if read is None:
            continue
        duration, j = read
        if j < len(items) and items[j].has(DURING) and items[j].link != BROKEN:
            j += 1
        out.append((i, j, {"seconds": _tidy(round(duration.seconds, 6))}))
    return out
