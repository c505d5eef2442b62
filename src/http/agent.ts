/**
 * undici's `Agent` and its request API, loaded without the rest of undici. The package's index
 * also loads fetch, WebSocket, caches, mocks and proxy agents, none of which we use: taking the
 * three modules we need cuts 0.7 MB from each bundle, and 30 ms and 8 MiB from every start
 * (docs/performance.md). The index puts the request methods on `Dispatcher.prototype`; so do we,
 * with the same functions (loading the index as well changes nothing). The action's bundle still
 * holds a whole undici 6 of its own, which `@actions/core` loads for its OIDC client.
 */
import type { Agent as UndiciAgent } from 'undici'
import AgentClass from 'undici/lib/dispatcher/agent.js'
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js'
import api from 'undici/lib/api/index.js'

Object.assign(DispatcherClass.prototype, api)

export const Agent = AgentClass
export type Agent = UndiciAgent
