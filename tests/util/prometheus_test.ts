/** lib/util/prometheus.ts: the text exposition and the path-checking handler. */

import assert from "node:assert/strict";
import {
  formatPrometheusText,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  prometheusHandler,
} from "../../lib/util/prometheus.ts";

Deno.test("formatPrometheusText: HELP, TYPE and one line per sample, prefixed", () => {
  const text = formatPrometheusText([
    { name: "polls_total", type: "counter", help: "Polls.", samples: [['{result="match"}', 3], ["", 4]] },
    { name: "clients", type: "gauge", help: "Clients now.", samples: [["", 0]] },
  ], "p_");
  assert.equal(
    text,
    '# HELP p_polls_total Polls.\n# TYPE p_polls_total counter\np_polls_total{result="match"} 3\n' +
      "p_polls_total 4\n# HELP p_clients Clients now.\n# TYPE p_clients gauge\np_clients 0\n",
  );
});

Deno.test("prometheusHandler: serves its paths with the exposition content type, 404 elsewhere", async () => {
  let renders = 0;
  const handler = prometheusHandler(["/metrics", "/internal/metrics"], () => `n ${++renders}\n`);
  const ok = await handler(new Request("http://x/internal/metrics"));
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("content-type"), PROMETHEUS_TEXT_CONTENT_TYPE);
  assert.equal(await ok.text(), "n 1\n");
  const missing = await handler(new Request("http://x/other"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  assert.equal(renders, 1);
});
