/**
 * The metric catalogue for tests of queries: the families the agent exports, as the docs
 * generator collects them from the real family code (the same list docs/metrics.md shows).
 */
import { metricCatalogue } from '../../scripts/docs/catalogue.js';

/** Names of every multinet_* family the agent can export. */
export async function catalogueMetricNames(): Promise<Set<string>> {
  return new Set((await metricCatalogue()).map((f) => f.name));
}
