/** Entry point that GitHub runs (through the ncc bundle in dist/). */
import { run } from './main.js'

void run()
