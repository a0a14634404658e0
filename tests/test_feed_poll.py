"""poll_feeds_sync over a real local server: outcomes, validators, moves, and one bad feed among good ones."""

from __future__ import annotations

from datetime import timedelta

from servers import Static, hang, redirect, serve

from podsight.feeds.poll import PollRequest, next_retry_delay, poll_feeds_sync

OPTIONS = dict(user_agent="podsight-test/1", timeout_s=0.5, max_bytes=200_000, per_host_limit=4,
               max_concurrency=8, max_redirects=5, allow_private=True)  # served on 127.0.0.1


def rss(title: str, items: int = 2) -> bytes:
    body = "".join(f"<item><title>{title} {i}</title><guid>{title}-{i}</guid>"
                   f'<enclosure url="/a/{i}.mp3" type="audio/mpeg"/></item>' for i in range(items))
    return f"<rss version='2.0'><channel><title>{title}</title>{body}</channel></rss>".encode()


def test_good_feeds_survive_bad_ones_and_each_gets_a_readable_outcome():
    routes = {
        "/good1": Static(body=rss("One"), etag='"1"'),
        "/good2": Static(body=rss("Two"), last_modified="Mon, 04 Mar 2024 10:00:00 GMT"),
        "/missing": Static(status=404),
        "/gone": Static(status=410),
        "/broken": Static(status=500),
        "/html": Static(body=b"<!doctype html><html><body>Welcome</body></html>"),
        "/slow": hang(3),
        "/huge": Static(body=rss("Huge", items=5000)),
    }
    names = list(routes)
    seen = []
    with serve(routes) as base:
        requests = [PollRequest(i, base + name, None, None) for i, name in enumerate(names)]
        results = poll_feeds_sync(requests, on_result=seen.append, **OPTIONS)
    by_name = dict(zip(names, results))
    assert [r.feed_id for r in results] == list(range(len(names)))  # input order
    assert len(seen) == len(names)
    assert by_name["/good1"].outcome == "updated" and by_name["/good1"].etag == '"1"'
    assert [e.title for e in by_name["/good1"].feed.episodes] == ["One 0", "One 1"]
    assert by_name["/good1"].feed.episodes[0].audio_url == base + "/a/0.mp3"
    assert by_name["/good2"].last_modified == "Mon, 04 Mar 2024 10:00:00 GMT"
    assert (by_name["/missing"].outcome, by_name["/missing"].http_status, by_name["/missing"].error) == (
        "error", 404, "HTTP 404 Not Found")
    assert by_name["/gone"].outcome == "gone" and "removed" in by_name["/gone"].error
    assert by_name["/broken"].error == "HTTP 500 Internal Server Error"
    assert "is an HTML page, not an RSS or Atom feed" in by_name["/html"].error
    assert "gave up after 0.5 s" in by_name["/slow"].error
    assert "larger than the" in by_name["/huge"].error
    assert all(r.feed is None for r in results if r.outcome != "updated")


def test_second_poll_with_validators_is_not_modified_and_tiny():
    routes = {"/f": Static(body=rss("Big", items=300), etag='"abc"')}
    with serve(routes) as base:
        (first,) = poll_feeds_sync([PollRequest(1, base + "/f", None, None)], **OPTIONS)
        (second,) = poll_feeds_sync([PollRequest(1, base + "/f", first.etag, first.last_modified)], **OPTIONS)
    assert first.outcome == "updated" and second.outcome == "not_modified"
    assert second.feed is None and second.etag == '"abc"'
    assert second.bytes_received < first.bytes_received / 100


def test_not_modified_without_validators_keeps_the_ones_sent():
    def always_304(request):
        return Static(status=304)

    with serve({"/f": always_304}) as base:
        (result,) = poll_feeds_sync([PollRequest(1, base + "/f", '"old"', "Mon, 04 Mar 2024 10:00:00 GMT")], **OPTIONS)
    assert result.outcome == "not_modified"
    assert (result.etag, result.last_modified) == ('"old"', "Mon, 04 Mar 2024 10:00:00 GMT")


def test_permanent_redirect_reports_new_url_and_temporary_does_not():
    routes = {"/old": redirect("/new", 301), "/tmp": redirect("/new", 307), "/new": Static(body=rss("Moved"))}
    with serve(routes) as base:
        moved, temporary = poll_feeds_sync(
            [PollRequest(1, base + "/old", None, None), PollRequest(2, base + "/tmp", None, None)], **OPTIONS)
    assert moved.outcome == "updated" and moved.new_url == base + "/new"
    assert moved.feed.title == "Moved"
    assert temporary.outcome == "updated" and temporary.new_url is None


def test_redirect_loop_is_an_error_result():
    with serve({"/a": redirect("/b", 301), "/b": redirect("/a", 301)}) as base:
        (result,) = poll_feeds_sync([PollRequest(1, base + "/a", None, None)], **OPTIONS)
    assert result.outcome == "error" and result.error.startswith("redirect loop:")


def test_a_failing_progress_callback_does_not_stop_the_scan():
    def explode(result):
        raise RuntimeError("progress bar bug")

    with serve({"/f": Static(body=rss("A"))}) as base:
        results = poll_feeds_sync([PollRequest(i, base + "/f", None, None) for i in range(3)],
                                  on_result=explode, **OPTIONS)
    assert [r.outcome for r in results] == ["updated"] * 3


def test_next_retry_delay_doubles_and_caps():
    assert next_retry_delay(0) == timedelta(0)
    assert next_retry_delay(1) == timedelta(minutes=15)
    assert next_retry_delay(2) == timedelta(minutes=30)
    assert next_retry_delay(5) == timedelta(hours=4)
    assert next_retry_delay(10) == timedelta(hours=48)
    assert next_retry_delay(10_000, max_hours=6) == timedelta(hours=6)
