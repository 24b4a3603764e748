import type { CampaignDefinition } from './campaignForm.js';
import type { ReportCounts } from './reportData.js';

/** A campaign as GET /campaigns and GET /campaigns/{id} answer it (docs/CAMPAIGNS.md). */
export interface Campaign extends CampaignDefinition {
  id: string;
  state: 'draft' | 'scheduled' | 'running' | 'paused' | 'finished' | 'canceled';
  counts: { total: number | null; processed: number; queued: number; rejected: number; refused: number; remaining: number | null };
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** GET /campaigns/{id} only: its messages' counts so far. */
  report?: ReportCounts | null;
}

export type CampaignAction = 'start' | 'pause' | 'resume' | 'cancel';

/** The actions each state allows (the API answers 409 for the others), in the order the page shows them. */
export const ACTIONS: Record<Campaign['state'], CampaignAction[]> = {
  draft: ['start', 'cancel'],
  scheduled: ['pause', 'cancel'],
  running: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
  finished: [],
  canceled: [],
};

export const editable = (campaign: Campaign) => campaign.state === 'draft' || campaign.state === 'scheduled';
export const deletable = (campaign: Campaign) => ['draft', 'finished', 'canceled'].includes(campaign.state);

/**
 * How soon the campaign's page reads it again: every 2 s while it sends, every 5 s while its
 * messages still wait for an outcome, every 10 s while it waits for its time; never once it rests.
 */
export function pollDelay(campaign: Campaign, outcomes: number | null): number | null {
  if (campaign.state === 'running') return 2_000;
  if (campaign.state === 'scheduled') return 10_000;
  if ((campaign.state === 'finished' || campaign.state === 'paused' || campaign.state === 'canceled') && outcomes !== null && outcomes < 1) return 5_000;
  return null;
}
