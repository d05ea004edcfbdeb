/**
 * How a MongoDB connection string starts, as the official driver reads it: `mongodb://` or
 * `mongodb+srv://`, lower case, with nothing before it (a space pasted with a secret counts). The
 * worker's consumer (`MONGODB_URI`) and the trainer's reader (`--format mongodb --input`) check a
 * string against this one rule before anything is tried, each with its own message.
 */
export const MONGODB_URI_SCHEME = /^mongodb(?:\+srv)?:\/\//;
