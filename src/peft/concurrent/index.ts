// Adapters of several methods on one frozen base, each row through its own (concurrent training).
export { MultiAdapterModel } from './model.js';
export { forwardAdapters, forwardBase, type AdapterBatch, type JointForward } from './forward.js';
