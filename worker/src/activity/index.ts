/** Recent activity per shopper in Upstash Redis, written by the events consumer. */
export { activityOf, type EventActivity, type Invalidation } from './activity-of-event';
export { RECENT_HEAD, recordActivity } from './record-activity';
