"""A small lexicon-based sentiment scorer for social mentions, English and Chinese: no network, no model.

English words are looked up by word, with weights from -3 to 3 (in the manner of AFINN); a negation
("not", "never", "-n't"...) within the three words before a word turns it around (and weakens it: "not
bad" is mildly good), an intensifier ("very", "really"...) just before it strengthens it. Chinese has no
spaces: the longest lexicon term at each position is taken ("不错" before "错"), and 不/没/没有/别 just
before a term negates it. Emoji count too. The sum `s` becomes a score in -1..1 as `s / sqrt(s² + 15)`
(VADER's normalisation); at least 0.2 is positive, at most -0.2 negative, neutral between.
"""
from __future__ import annotations

import math
import re

THRESHOLD = 0.2
ALPHA = 15.0
NEGATION_FACTOR = -0.75
BOOST = 1.5

ENGLISH = {
    # positive
    "good": 2, "great": 3, "excellent": 3, "amazing": 3, "awesome": 3, "fantastic": 3, "love": 3, "loved": 3,
    "loving": 3, "like": 1, "liked": 2, "likes": 1, "nice": 2, "happy": 2, "glad": 2, "thanks": 2, "thank": 2,
    "helpful": 2, "recommend": 2, "recommended": 2, "best": 3, "perfect": 3, "fast": 1, "quick": 1, "easy": 1,
    "works": 1, "worked": 1, "fixed": 1, "solved": 2, "impressed": 3, "wonderful": 3, "brilliant": 3,
    "superb": 3, "pleased": 2, "smooth": 1, "reliable": 2, "friendly": 2, "enjoy": 2, "enjoyed": 2, "cool": 1,
    "win": 2, "well": 1, "beautiful": 3, "satisfied": 2, "kudos": 2, "thrilled": 3, "delighted": 3,
    # negative
    "bad": -2, "terrible": -3, "awful": -3, "horrible": -3, "worst": -3, "hate": -3, "hated": -3, "poor": -2,
    "broken": -2, "bug": -1, "bugs": -1, "buggy": -2, "slow": -1, "crash": -2, "crashed": -2, "crashing": -2, "crashes": -2,
    "fail": -2, "failed": -2, "fails": -2, "failure": -2, "error": -1, "errors": -1, "problem": -1,
    "problems": -1, "issue": -1, "issues": -1, "disappointed": -2, "disappointing": -2, "angry": -3,
    "annoying": -2, "annoyed": -2, "useless": -3, "scam": -3, "refund": -1, "complaint": -2, "sucks": -3,
    "rude": -2, "down": -1, "outage": -2, "waiting": -1, "unacceptable": -3, "frustrated": -2,
    "frustrating": -2, "wrong": -2, "lost": -1, "expensive": -1, "cancel": -1, "ridiculous": -2,
    "unhappy": -2, "hard": -1, "confusing": -2, "spam": -2,
}
NEGATIONS = {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "hardly", "without",
             "cannot", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont", "cant",
             "couldnt", "shouldnt", "wouldnt", "havent", "hasnt"}
BOOSTERS = {"very", "really", "so", "extremely", "super", "totally", "absolutely", "incredibly", "truly",
            "completely", "too", "most", "highly"}
CHINESE = {
    "好": 2, "很好": 3, "非常好": 3, "太好了": 3, "喜欢": 2, "爱": 2, "满意": 2, "棒": 3, "很棒": 3, "赞": 2,
    "优秀": 3, "推荐": 2, "感谢": 2, "谢谢": 2, "开心": 2, "高兴": 2, "不错": 2, "完美": 3, "快": 1, "好用": 2,
    "方便": 1, "专业": 2, "支持": 1, "解决了": 2, "稳定": 1, "给力": 3,
    "差": -2, "很差": -3, "太差": -3, "垃圾": -3, "失望": -2, "糟糕": -3, "退款": -1, "投诉": -2, "慢": -1,
    "坏": -2, "坏了": -2, "问题": -1, "故障": -2, "骗": -3, "骗子": -3, "烂": -3, "生气": -3, "不满": -2,
    "不好": -2, "不行": -2, "难用": -2, "崩溃": -2, "错误": -1, "讨厌": -3, "无语": -2, "坑": -2, "贵": -1,
}
CHINESE_NEGATIONS = ("没有", "不", "没", "别")
EMOJI = {"😀": 2, "😃": 2, "😄": 2, "😊": 2, "😍": 3, "🥰": 3, "👍": 2, "❤": 3, "🎉": 2, "🙏": 1, "😂": 1,
         "😡": -3, "😠": -3, "🤬": -3, "👎": -2, "😢": -2, "😭": -2, "💩": -3, "😞": -2, "🙄": -1}
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
CLAUSE = re.compile(r"[.!?;,:\n]+|\bbut\b")
HAN = re.compile(r"[\u4e00-\u9fff]+")
LONGEST_TERM = max(map(len, CHINESE))


def score(text: str) -> tuple[float, str]:
    """(sentiment in -1..1 rounded to 3 places, label positive | neutral | negative)."""
    total = _english(text.lower()) + _chinese(text) + sum(w * text.count(e) for e, w in EMOJI.items())
    value = round(total / math.sqrt(total * total + ALPHA), 3) if total else 0.0
    label = "positive" if value >= THRESHOLD else "negative" if value <= -THRESHOLD else "neutral"
    return value, label


def _english(text: str) -> float:
    return sum(_clause(clause) for clause in CLAUSE.split(text.replace("’", "'")))


def _clause(text: str) -> float:
    """A negation reaches no further than its clause ("nobody answers. Worst..." is not "not worst")."""
    words = [w.replace("'", "") for w in WORD.findall(text)]
    total = 0.0
    for i, word in enumerate(words):
        weight = ENGLISH.get(word)
        if not weight:
            continue
        if i and words[i - 1] in BOOSTERS:
            weight *= BOOST
        if any(w in NEGATIONS for w in words[max(0, i - 3):i]):
            weight *= NEGATION_FACTOR
        total += weight
    return total


def _chinese(text: str) -> float:
    total = 0.0
    for run in HAN.findall(text):
        i = 0
        while i < len(run):
            term = next((run[i:i + n] for n in range(min(LONGEST_TERM, len(run) - i), 0, -1)
                         if run[i:i + n] in CHINESE), None)
            if term is None:
                i += 1
                continue
            weight = float(CHINESE[term])
            before = run[max(0, i - 2):i]
            if not term.startswith(("不", "没")) and before.endswith(CHINESE_NEGATIONS):
                weight *= NEGATION_FACTOR
            total += weight
            i += len(term)
    return total
