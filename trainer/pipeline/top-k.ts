/**
 * How many items each bundle graph returns by default: the candidates the worker ranks, diversifies and
 * fills from (and `eval` and `train`'s validation with them, so that their lists are the worker's).
 */
export const MODEL_TOP_K = 50;
