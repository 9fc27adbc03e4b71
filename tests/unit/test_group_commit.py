import threading
import time

import pytest

from app.group_commit import GroupCommit


def test_each_caller_gets_its_own_results_in_order_while_groups_form():
    groups: list[int] = []

    def process(items: list[int]) -> list[int]:
        groups.append(len(items))
        time.sleep(0.01)  # long enough for others to queue up behind
        return [item * 10 for item in items]

    commit = GroupCommit(process, max_items=50, committers=2)
    results: dict[int, list[int]] = {}

    def call(n: int) -> None:
        results[n] = commit.submit([n, n + 1000])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    commit.close()
    assert results == {n: [n * 10, (n + 1000) * 10] for n in range(40)}
    assert sum(groups) == 80
    assert max(groups) > 2  # callers were served together, not one by one


def test_a_failure_reaches_every_caller_of_its_group_and_the_committers_carry_on():
    def process(items: list[str]) -> list[str]:
        if "boom" in items:
            raise ValueError("boom")
        return items

    commit = GroupCommit(process, max_items=10, committers=1)
    with pytest.raises(ValueError):
        commit.submit(["boom"])
    assert commit.submit(["fine"]) == ["fine"]
    commit.close()


def test_a_group_never_exceeds_its_size_but_a_larger_submission_goes_alone():
    sizes: list[int] = []
    commit = GroupCommit(lambda items: sizes.append(len(items)) or items, max_items=3, committers=1)
    assert commit.submit(list(range(5))) == list(range(5))
    assert sizes == [5]
    commit.close()


def test_a_closed_group_commit_refuses_work():
    commit = GroupCommit(lambda items: items, max_items=3)
    commit.submit([1])
    commit.close()
    with pytest.raises(RuntimeError):
        commit.submit([2])


def test_a_group_runs_in_its_oldest_callers_context_so_what_its_request_set_there_holds():
    import contextvars

    seen = contextvars.ContextVar("seen", default="none")
    release = threading.Event()
    contexts: list[list[str]] = []

    def process(items: list[str]) -> list[str]:
        release.wait(5)  # the first group holds the committer while the next callers queue up
        contexts.append([seen.get()] * len(items))
        return items

    commit = GroupCommit(process, max_items=10, committers=1)

    def call(name: str) -> None:
        seen.set(name)
        commit.submit([name])

    first = threading.Thread(target=call, args=("first",))
    first.start()
    time.sleep(0.05)
    later = [threading.Thread(target=call, args=(name,)) for name in ("second", "third")]
    for thread in later:
        thread.start()
        time.sleep(0.05)
    release.set()
    for thread in (first, *later):
        thread.join()
    commit.close()
    assert contexts == [["first"], ["second", "second"]]
