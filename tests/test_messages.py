import pickle

import pytest

from crawler.errors import BadMessage
from crawler.messages import (
    make_node_event,
    make_result,
    make_task,
    parse_task_id,
    read_message,
    read_result,
    read_task,
)


def task() -> dict:
    return dict(make_task("7.1", "image", "http://a.test/x.png", 2, "http://a.test/", 0))


def test_messages_round_trip_through_pickle_as_plain_data() -> None:
    result = make_result(task(), "node-1", "saved", image={
        "path": "images/a.test/" + "0" * 64 + ".png", "sha256": "0" * 64, "bytes": 10,
        "content_type": "image/png", "width": 1, "height": 2}, links=[["http://a.test/b", "http://a.test/b"]])
    assert read_result(pickle.loads(pickle.dumps(result))) == result
    assert read_task(pickle.loads(pickle.dumps(task()))) == task()


@pytest.mark.parametrize("change", [
    {"v": 99}, {"kind": "shell"}, {"url": 5}, {"depth": "1"}, {"depth": True}, {"id": "x" * 1000},
    {"known": ["etag"]}, {"known": {"etag": 5}}, {"known": {"cookie": "x"}}, {"known": {"etag": "x" * 1000}},
    {"wait": -0.01}, {"wait": 3600.0}, {"wait": float("nan")}, {"wait": "0.01"}, {"wait": True}, {"wait": None},
])
def test_messages_read_task_rejects_bad_fields(change: dict) -> None:
    with pytest.raises(BadMessage):
        read_task({**task(), **change})


def test_messages_a_task_may_wait_up_to_a_second() -> None:
    for wait in (0, 0.0, 0.0125, 1.0):
        assert read_task({**task(), "wait": wait})["wait"] == wait


@pytest.mark.parametrize("bad", [None, "text", b"bytes", ["v", 1], {"v": 1, "type": "result"}])
def test_messages_read_message_rejects_what_is_not_a_message(bad: object) -> None:
    with pytest.raises(BadMessage):
        read_message(bad)


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "images/../../x", "images//x", "a\\b"])
def test_messages_image_path_must_stay_inside_the_output(path: str) -> None:
    result = make_result(task(), "n", "saved", image={"path": path, "sha256": "0" * 64, "bytes": 1,
                                                      "content_type": "image/png", "width": 1, "height": 1})
    with pytest.raises(BadMessage, match="plain relative path"):
        read_result(dict(result))


@pytest.mark.parametrize("filename", [b"x.png", 7, ["x.png"], "x" * 301])
def test_messages_an_images_file_name_is_a_bounded_text_or_none(filename: object) -> None:
    image = {"path": "images/a.test/" + "0" * 64 + ".png", "sha256": "0" * 64, "bytes": 1,
             "content_type": "image/png", "width": 1, "height": 1}
    assert read_result(dict(make_result(task(), "n", "saved", image={**image, "filename": "Dusk.png"})))
    with pytest.raises(BadMessage, match="filename"):
        read_result(dict(make_result(task(), "n", "saved", image={**image, "filename": filename})))


def test_messages_links_must_be_url_pairs() -> None:
    with pytest.raises(BadMessage):
        read_result(dict(make_result(task(), "n", "fetched", links=[["only-one"]])))
    with pytest.raises(BadMessage):
        read_result(dict(make_result(task(), "n", "fetched", links=[[1, 2]])))


def test_messages_node_events_are_checked() -> None:
    event = dict(make_node_event("heartbeat", "n1", 4, ["1.1"], 3))
    assert read_message(event) == event
    with pytest.raises(BadMessage):
        read_message({**event, "tasks": [1, 2]})
    with pytest.raises(BadMessage):
        read_message({**event, "type": "exec"})


@pytest.mark.parametrize("node", ["evil\n12:00:00 INFO    scheduler: forged", "a b", "", "x" * 101, "-lead", "é"])
def test_messages_a_node_id_is_a_name_not_a_line(node: str) -> None:
    # a peer's id went as it was into the scheduler's log (a line break forged a log line of its
    # own) and into the manifest: letters, digits, dots, dashes and underscores now, or refused
    with pytest.raises(BadMessage, match="node id"):
        read_message(dict(make_node_event("hello", node, 4, [], 0)))
    with pytest.raises(BadMessage, match="node id"):
        read_result(dict(make_result(task(), node, "failed", reason="http-404")))


@pytest.mark.parametrize("reason", ["x\n12:00:00 WARNING scheduler: forged", "x\ry", "x\x1b[2Jy", "x\x85y"])
def test_messages_a_reason_is_one_line_of_text(reason: str) -> None:
    # the scheduler says a seed's failure in its log with the reason a node gave, as it came
    with pytest.raises(BadMessage, match="reason"):
        read_result(dict(make_result(task(), "n", "failed", reason=reason)))
    assert read_result(dict(make_result(task(), "n", "failed", reason="http-404")))["reason"] == "http-404"
    hello = dict(make_node_event("hello", "n", 4, [], 0))
    for field in ("python", "instance"):  # "node n joined with 4 threads (Python 3.11.7; …)"
        with pytest.raises(BadMessage, match=field):
            read_message({**hello, field: reason[:40]})


@pytest.mark.parametrize("retry_after", [float("nan"), float("inf"), -1.0, True, "60"])
def test_messages_a_retry_after_is_a_time_to_wait(retry_after: object) -> None:
    # bounded as a task's wait is: the frontier happens to ignore NaN or a negative one (its
    # comparisons fail), which is luck, not a check
    with pytest.raises(BadMessage, match="retry_after"):
        read_result({**make_result(task(), "n", "failed", reason="http-503"), "retry_after": retry_after})
    waiting = {**make_result(task(), "n", "failed", reason="http-503"), "retry_after": 60}
    assert read_result(waiting)["retry_after"] == 60


def test_messages_a_task_id_is_ascii_digits_and_its_run() -> None:
    # a result's task id is parsed when its lease ends: "²" passed str.isdigit and int() raised a
    # ValueError in Frontier.complete, which the scheduler's loop does not catch (a forged id is
    # to be dropped, as one of another run is)
    assert parse_task_id("12.1.ab12") == (12, 1, "ab12")
    for forged in ("².1.ab12", "١٢.1.ab12", "12.².ab12", "12.1", "12.1.", "x.1.ab12"):
        assert parse_task_id(forged) is None, forged


def test_messages_node_ids_as_nodes_make_them_pass() -> None:
    for node in ("local-1", "local-2-p3", "vm-29531", "crawler_01.example.com-4711-p2", "x" * 100):
        assert read_message(dict(make_node_event("heartbeat", node, 4, [], 0)))["node"] == node


def test_messages_images_say_how_they_were_found_and_stylesheets_travel_apart() -> None:
    result = make_result(task(), "n", "fetched", images=[["http://a.test/x.svg", "http://a.test/x.svg", "css-linked",
                                                                       "Flag of France", "", "A flag"]],
                         stylesheets=[["http://a.test/s.css", "http://a.test/s.css"]])
    assert read_result(dict(result)) == result


@pytest.mark.parametrize("images", [
    [["http://a.test/x.png", "http://a.test/x.png"]],  # a protocol-1 pair
    [["http://a.test/x.png", "http://a.test/x.png", "img"]],  # a protocol-3 triple
    [["http://a.test/x.png", "http://a.test/x.png", "telepathy", "", "", ""]],  # not in the vocabulary
    [["http://a.test/x.png", "http://a.test/x.png", ["img"], "", "", ""]],
    [["http://a.test/x.png", "http://a.test/x.png", "img", "", "", "", "extra"]],
    [["http://a.test/x.png", "http://a.test/x.png", "img", None, "", ""]],
    [["http://a.test/x.png", "http://a.test/x.png", "img", "", "x" * 1001, ""]],  # words beyond the bound
])
def test_messages_images_entries_must_have_a_known_form_and_bounded_words(images: list) -> None:
    with pytest.raises(BadMessage, match="not \\[url, canonical, found_as, alt, title, caption\\]"):
        read_result(dict(make_result(task(), "n", "fetched", images=images)))


def test_messages_stylesheet_is_a_task_kind() -> None:
    stylesheet = dict(make_task("9.1", "stylesheet", "http://a.test/s.css", 0, "http://a.test/", 0))
    assert read_task(stylesheet)["kind"] == "stylesheet"


def test_the_vocabulary_travels_as_plain_strings() -> None:
    import pickle

    from crawler.messages import Kind, Outcome, make_result, make_task
    task = make_task("1.1.r", Kind.STYLESHEET, "http://a.test/s.css", 0, None, 0)
    result = make_result(task, "n1", Outcome.SAVED)
    assert type(task["kind"]) is str and type(result["outcome"]) is str  # a peer never unpickles our enums
    assert b"crawler" not in pickle.dumps((task, result))
    assert (f"{Kind.PAGE}/{Outcome.FETCHED}", Kind.IMAGE == "image") == ("page/fetched", True)


def test_messages_a_recrawl_task_and_its_answer_carry_validators() -> None:
    recheck = make_task("7.2", "page", "http://a.test/", 0, None, 0, {"etag": '"v1"', "sha256": "ab"})
    assert read_task(dict(recheck)) == recheck
    answer = make_result(recheck, "n", "unchanged", status=304, validators={"etag": '"v1"', "max_age": "3600"},
                         lastmods=[["http://a.test/", 1717200000.0]])
    assert read_result(dict(answer)) == answer


@pytest.mark.parametrize("change", [
    {"validators": {"etag": ["x"]}}, {"validators": {"x-secret": "1"}}, {"validators": None},
    {"validators": {"max_age": "soon"}}, {"validators": {"max_age": "9" * 10}},  # a year is 8 digits
    {"validators": {"max_age": "²"}},  # str.isdigit takes it, int() does not: a --recrawl's start raised
    {"lastmods": [["http://a.test/", "yesterday"]]}, {"lastmods": [["http://a.test/"]]}, {"lastmods": {"a": 1}},
    {"outcome": "gone"}, {"outcome": "partial"},  # words of the records, never of a node
    {"held": -1.0}, {"held": float("nan")}, {"held": "0.02"}, {"held": None},  # seconds a node held it
])
def test_messages_a_results_validators_and_lastmods_are_checked(change: dict) -> None:
    with pytest.raises(BadMessage):
        read_result({**make_result(task(), "n", "fetched"), **change})


def test_messages_a_chain_holds_two_to_max_chain_tasks_tasks() -> None:
    from crawler.messages import MAX_CHAIN_TASKS, read_chain
    one = task()
    assert read_chain(one) == [one]  # a task alone
    assert len(read_chain([one] * MAX_CHAIN_TASKS)) == MAX_CHAIN_TASKS
    for wrong in ([one], [one] * (MAX_CHAIN_TASKS + 1)):
        with pytest.raises(BadMessage, match="a chain of"):
            read_chain(wrong)


def test_messages_referrer_policies_travel_as_known_names_only() -> None:
    # A page's policy and its images' come back with the page; an image's goes out with its task.
    page = make_result(task(), "n", "fetched", referrer_policy="no-referrer",
                       referrer_policies=[["http://cdn.test/a.jpg", "unsafe-url"]])
    assert read_result(dict(page)) == page
    image = make_task("8.1", "image", "http://cdn.test/a.jpg", 1, "http://a.test/", 0, referrer_policy="no-referrer")
    assert read_task(dict(image)) == image
    for bad in ({"referrer_policy": "made-up"}, {"referrer_policy": 1},
                {"referrer_policies": [["http://cdn.test/a.jpg", "made-up"]]}, {"referrer_policies": [["x"]]},
                {"referrer_policies": [["http://cdn.test/a.jpg", "origin"]] * 50_001}):
        with pytest.raises(BadMessage, match="referrer"):
            read_result({**page, **bad})
    with pytest.raises(BadMessage, match="referrer"):
        read_task({**image, "referrer_policy": "everything"})
