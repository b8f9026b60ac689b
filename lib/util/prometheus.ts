/**
 * The Prometheus text exposition format (version 0.0.4) for the proxy's and
 * the server's metrics: a list of {@link PrometheusMetric}s rendered as
 * `# HELP`, `# TYPE` and one line per sample, and a handler serving that text
 * on the given paths (404 elsewhere).
 */

/** One metric family: its samples carry their label set, already rendered (`{a="b"}` or ""). */
export interface PrometheusMetric {
  name: string;
  type: "counter" | "gauge";
  help: string;
  samples: [labels: string, value: number][];
}

/** Content-Type of the text exposition format. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The text exposition of `metrics`, each name prefixed with `prefix`. */
export function formatPrometheusText(metrics: PrometheusMetric[], prefix = ""): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    const name = prefix + metric.name;
    lines.push(`# HELP ${name} ${metric.help}`, `# TYPE ${name} ${metric.type}`);
    for (const [labels, value] of metric.samples) lines.push(`${name}${labels} ${value}`);
  }
  return lines.join("\n") + "\n";
}

/** A request handler answering `render()` on `paths`; other paths get 404. */
export function prometheusHandler(
  paths: readonly string[],
  render: () => string | Promise<string>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (!paths.includes(new URL(request.url).pathname)) return new Response("not found\n", { status: 404 });
    return new Response(await render(), { headers: { "content-type": PROMETHEUS_TEXT_CONTENT_TYPE } });
  };
}
