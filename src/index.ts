// peftjs: parameter-efficient fine-tuning for TypeScript.
export * from './tensor/index.js';
