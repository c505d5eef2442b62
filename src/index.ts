/** Entry point that GitHub runs (through the ncc bundle in dist/). */
import { run } from './main.js'
import { tuneV8 } from './v8-tuning.js'

tuneV8()
void run()
