/**
 * Model bundles in the worker: the built-in default, published bundles from the model store (R2),
 * sha256 verification, and onnxruntime-web sessions created once per isolate.
 */
export {
  type BundleCatalogue,
  BundleError,
  type BundleSource,
  createSessions,
  type LoadedBundle,
  loadBundle,
  type VerifiedBundle,
  verifyBundle,
} from './bundle';
export {
  BUNDLE_FILE_PATTERN,
  BUNDLE_VERSION_PATTERN,
  bundleObjectKey,
  POINTER_KEY,
  readPointer,
} from './model-store';
export type { Recommender, TopK } from './recommender';
export {
  activateStoredBundle,
  BundleRegistry,
  getBundle,
  getCatalogue,
  type RegistryDependencies,
  requestInProgress,
} from './registry';
