"""Roots found by walking parents through the posts imported, kept on disk across imports."""
from __future__ import annotations

from services.importers.mapping import Unrooted
from services.importers.threads import ThreadIndex


def test_roots_in_any_order_missing_ancestors_and_cycles(tmp_path):
    with ThreadIndex(tmp_path / "t.sqlite") as index:
        index.add([("c3", "c2"), ("c1", "p"), ("c2", "c1"), ("p", None), ("x", "gone"), ("y", "x"),
                   ("a", "b"), ("b", "a")])
        assert [index.root_of(post) for post in ("p", "c1", "c2", "c3")] == ["p"] * 4
        assert index.root_of("y") == Unrooted("gone")
        assert index.root_of("a") == Unrooted(None)  # a cycle never reaches a root


def test_a_later_import_completes_earlier_threads_and_the_first_parent_stays(tmp_path):
    with ThreadIndex(tmp_path / "t.sqlite") as index:
        index.add([("y", "x")], key="file-1")
        assert index.has_indexed("file-1") and not index.has_indexed("file-2")
    with ThreadIndex(tmp_path / "t.sqlite") as index:  # a later run
        index.add([("x", "root"), ("root", None), ("y", "other")], key="file-2")
        assert index.root_of("y") == "root"


def test_the_first_link_of_a_post_in_one_file_wins(tmp_path):
    with ThreadIndex(tmp_path / "t.sqlite") as index:
        index.add([("y", "a"), ("a", None), ("y", "b"), ("b", None), ("z", "y")])
        assert index.root_of("y") == "a" and index.root_of("z") == "a"


def test_roots_found_before_stay_and_new_posts_below_them_get_theirs(tmp_path):
    with ThreadIndex(tmp_path / "t.sqlite") as index:
        index.add([("p", None), ("c1", "p"), ("q", None)])
        index.add([("c2", "c1"), ("c3", "c2"), ("d", "q"), ("p", "q")])  # p keeps its first (no) parent
        assert [index.root_of(post) for post in ("p", "c1", "c2", "c3", "d")] == ["p", "p", "p", "p", "q"]
