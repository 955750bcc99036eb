// Every built-in method registers itself on import: one line per method.
import './lora/index.js';
import './loha/index.js';
import './lokr/index.js';
import './ia3/index.js';
import './oft/index.js';
import './vera/index.js';
import './adalora/index.js';
import './ln_tuning/index.js';
import './bitfit/index.js';
import './bottleneck/index.js';
import './diff_pruning/index.js';
import './structured/index.js';
import './hybrid/index.js';
import '../prompt/index.js';
