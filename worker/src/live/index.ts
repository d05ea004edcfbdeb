/** Live experiment counters in Upstash Redis: written by the events consumer, read by `GET /admin/live`. */
export { dayOf, LIVE_DAYS } from './live-counters';
export { recordLiveCounters } from './record-live';
