// Every built-in method registers itself on import: one line per method.
import './lora/index.js';
import './loha/index.js';
import './lokr/index.js';
