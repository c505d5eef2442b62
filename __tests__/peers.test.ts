import { expect, test } from '@jest/globals'
import { PEERS, requireTools } from '../testbed/tools.js'

// The integration tests need these; a missing one fails here by name rather than being skipped.
test.each(PEERS)('%s is installed', async (tool) => {
  await expect(requireTools([tool])).resolves.toBeUndefined()
})
