// A piscina task: one shard (a run of consecutive schedule indices) of an explore campaign.
import { explore, type ExploreOptions, type ExploreResult } from '../src/explore/explore.js';
import type { Scenario } from '../src/scenario/types.js';

export default function exploreShard(task: { scenario: Scenario; options: ExploreOptions }): ExploreResult {
  return explore(task.scenario, task.options);
}
