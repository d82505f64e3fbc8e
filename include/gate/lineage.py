"""dbt lineage for the gate: which marts a failing rule affects.

A rule checks one or more relations (dbt models). When it fails, every mart that
is built from those relations (the relation itself, or a mart downstream of it in
dbt's manifest) is held back; the other marts still publish. A rule whose
offending rows name their mart in a ``mart`` column (declared = computed reads
several marts) holds back those marts only; a rule over a department's control totals
(which no mart reads) holds back the marts built from the same feed; a rule over a
model downstream of the marts holds back every mart upstream of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from include import config

MANIFEST = config.DBT_MANIFEST
MART_PREFIX = "mart_"


class Lineage:
    """Model-level parents and children from a dbt manifest (seeds and sources left out)."""

    def __init__(self, manifest: dict) -> None:  # type: ignore[type-arg]
        names = {uid: node["name"] for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
        self.parents: dict[str, set[str]] = {name: set() for name in names.values()}
        self.children: dict[str, set[str]] = {name: set() for name in names.values()}
        self.feeds: dict[str, set[str]] = {name: set() for name in names.values()}  # sources read directly
        for uid, parent_ids in manifest.get("parent_map", {}).items():
            if uid not in names:
                continue
            for parent in parent_ids:
                if parent in names:
                    self.parents[names[uid]].add(names[parent])
                    self.children[names[parent]].add(names[uid])
                elif parent.startswith("source."):
                    self.feeds[names[uid]].add(parent.split(".")[2])

    def _walk(self, start: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        stack = [name for name in start if name in edges]
        while stack:
            for following in edges[stack.pop()]:
                if following not in seen:
                    seen.add(following)
                    stack.append(following)
        return seen

    def downstream(self, names: Iterable[str]) -> set[str]:
        return self._walk(names, self.children)

    def upstream(self, names: Iterable[str]) -> set[str]:
        return self._walk(names, self.parents)

    def marts(self) -> set[str]:
        return {name for name in self.parents if name.startswith(MART_PREFIX)}

    def affected_marts(self, relations: Iterable[str], named: Iterable[str] = ()) -> set[str]:
        """The marts a failure on ``relations`` taints (``named``: marts the offending rows name)."""
        marts = self.marts()
        named = set(named) & marts
        if named:  # the offending rows say which marts they concern (declared = computed)
            return named | (self.downstream(named) & marts)
        relations = set(relations)
        hit = (relations | self.downstream(relations)) & marts
        if hit:
            return hit
        # A department's 汇总 (control totals) feeds no mart: hold back the marts built from the same feed.
        feeds = set().union(*(self.feeds.get(name, set()) for name in relations))
        siblings = {name for name, read in self.feeds.items() if read & feeds}
        return ((siblings | self.downstream(siblings)) & marts) or (self.upstream(relations) & marts)


@cache
def _load(path: Path, mtime: float) -> Lineage:
    return Lineage(json.loads(path.read_text(encoding="utf-8")))


def lineage(path: Path = MANIFEST) -> Lineage:
    """The lineage of the compiled manifest (``dbt parse`` writes it), re-read when it changes."""
    return _load(path, path.stat().st_mtime)
