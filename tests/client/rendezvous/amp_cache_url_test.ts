/** AMP cache URLs against the vectors of SNOWFLAKE-PROTOCOL.md §5.2 (Go common/amp/cache_test.go). */

import assert from "node:assert/strict";
import {
  ampCacheUrl,
  AmpCacheUrlError,
  ampDomainPrefix,
  ampFallbackPrefix,
} from "../../../lib/client/rendezvous/amp_cache_url.ts";

Deno.test("AMP cache domain prefixes, SNOWFLAKE-PROTOCOL.md §5.2", () => {
  assert.equal(ampDomainPrefix("example.com"), "example-com");
  assert.equal(ampDomainPrefix("foo-example.com"), "foo--example-com");
  assert.equal(ampDomainPrefix("en-us.example.com"), "0-en--us-example-com-0");
  assert.equal(ampDomainPrefix("xn--57hw060o.com"), "xn---com-p33b41770a");
  assert.equal(ampFallbackPrefix("example.com"), "un42n5xov642kxrxrqiyanhcoupgql5lt4wtbkyt2ijflbwodfdq");
  const long = "a".repeat(60) + ".com"; // readable form would be 64 characters
  assert.equal(ampDomainPrefix(long), ampFallbackPrefix(long));
});

Deno.test("AMP cache URLs, SNOWFLAKE-PROTOCOL.md §5.2", () => {
  assert.equal(
    ampCacheUrl(
      new URL("https://snowflake-broker.torproject.net/amp/client/0AAAAAAAAAAAA/MS4wCnt9"),
      new URL("https://cdn.ampproject.org/"),
    ).href,
    "https://snowflake--broker-torproject-net.cdn.ampproject.org/c/s/snowflake-broker.torproject.net/amp/client/0AAAAAAAAAAAA/MS4wCnt9",
  );
  assert.equal(
    ampCacheUrl(new URL("http://example.com/"), new URL("https://amp.cache/")).href,
    "https://example-com.amp.cache/c/example.com",
  );
  assert.equal(
    ampCacheUrl(new URL("https://b.example/p?q=1"), new URL("https://cache.example:8443/base/")).href,
    "https://b-example.cache.example:8443/base/c/s/b.example/p?q=1",
  );
  assert.throws(
    () => ampCacheUrl(new URL("https://b.example:8443/"), new URL("https://c/")),
    AmpCacheUrlError,
  );
  assert.throws(
    () => ampCacheUrl(new URL("https://u:p@b.example/"), new URL("https://c/")),
    AmpCacheUrlError,
  );
  assert.throws(() => ampCacheUrl(new URL("ftp://b.example/"), new URL("https://c/")), AmpCacheUrlError);
  assert.throws(() => ampCacheUrl(new URL("https://b.example/"), new URL("https://c/?x")), AmpCacheUrlError);
});
