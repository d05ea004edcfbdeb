/** Event intake: `/v1/events`, the Segment-compatible routes and the queue producer. */
export { enqueueEvents, QueueSendError, sendStoredEvents } from './producer';
export { eventRoutes } from './routes';
export { segmentRoutes } from './segment-routes';
