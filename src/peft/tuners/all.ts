// Every built-in method registers itself on import: one line per method.
import './lora/index.js';
