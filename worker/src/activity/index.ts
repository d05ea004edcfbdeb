/** Recent activity per shopper in Upstash Redis, written by the events consumer. */
export { activityOf, type EventActivity } from './activity-of-event';
export { recordActivity } from './record-activity';
