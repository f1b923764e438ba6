"""The reference side of stix_differential.rs: PyPI stix2-matcher.

Reads {"patterns": [{"text": ..., "match": bool}], "events": [bundle, ...]} on stdin and
prints {"results": [...]}, one per pattern: {"error": reason} when the matcher refuses the
pattern or fails on an event, else {"matches": [indexes of the events it matches]} (empty
when "match" is false: the pattern is only compiled, to show it is valid STIX).
"""

import json
import sys

from stix2matcher.matcher import Pattern


def main():
    doc = json.load(sys.stdin)
    events = doc["events"]
    results = []
    for p in doc["patterns"]:
        try:
            pattern = Pattern(p["text"], "2.1")
        except Exception as e:  # the matcher's parse errors have several types
            results.append({"error": "compile: %s" % e})
            continue
        if not p["match"]:
            results.append({"matches": []})
            continue
        matches = []
        try:
            for i, event in enumerate(events):
                if pattern.match([event]):
                    matches.append(i)
        except Exception as e:
            results.append({"error": "match: %s" % e})
            continue
        results.append({"matches": matches})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
