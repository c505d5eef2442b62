/**
 * A chart's metadata typed as Helm's `chart.Metadata` (helm pkg/chart/v2 metadata.go,
 * dependency.go). `helm pull` decodes the config blob into that struct (pkg/registry/client.go),
 * so a JSON number where the struct has a string fails the pull. Every string field is written as
 * a string, booleans only where the struct has a bool, the rest as JSON values — in the struct's
 * field order, zero values left out as `omitempty` leaves them out, map keys sorted, strings
 * cleaned as Helm's Validate cleans them.
 *
 * A string field takes the scalar's text as the author wrote it: `appVersion: 1.10` is "1.10",
 * `condition: yes` is "yes". That is not always what `helm push` writes. Helm reads Chart.yaml with
 * sigs.k8s.io/yaml, which turns an unquoted number bound for a string field into
 * `strconv.FormatFloat(v, 'g', -1, 32)` ("1.1", and "1" for `1.0`) and a YAML 1.1 boolean into
 * "true" or "false". The struct decodes either text alike; we keep the author's, since "1.10" is
 * the version they meant and Helm's conversion shortened it. For such unquoted values the text in
 * our config blob (and so its digest) differs from Helm's; a quoted value is the same text in both.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from 'yaml'
import { InputError } from '../errors.js'

type FieldType = 'string' | 'strings' | 'bool' | 'stringMap' | 'values' | 'maintainers' | 'dependencies'

interface Field {
  key: string
  type: FieldType
  /** Helm's Validate passes it through sanitizeString. */
  sanitized?: boolean
  /** No `omitempty`: written even when empty. */
  always?: boolean
}

const METADATA: readonly Field[] = [
  { key: 'name', type: 'string', sanitized: true },
  { key: 'home', type: 'string', sanitized: true },
  { key: 'sources', type: 'strings', sanitized: true },
  { key: 'version', type: 'string' },
  { key: 'description', type: 'string', sanitized: true },
  { key: 'keywords', type: 'strings', sanitized: true },
  { key: 'maintainers', type: 'maintainers' },
  { key: 'icon', type: 'string', sanitized: true },
  { key: 'apiVersion', type: 'string' },
  { key: 'condition', type: 'string', sanitized: true },
  { key: 'tags', type: 'string', sanitized: true },
  { key: 'appVersion', type: 'string', sanitized: true },
  { key: 'deprecated', type: 'bool' },
  { key: 'annotations', type: 'stringMap' },
  { key: 'kubeVersion', type: 'string', sanitized: true },
  { key: 'dependencies', type: 'dependencies' },
  { key: 'type', type: 'string' }
]

const MAINTAINER: readonly Field[] = [
  { key: 'name', type: 'string', sanitized: true },
  { key: 'email', type: 'string', sanitized: true },
  { key: 'url', type: 'string', sanitized: true }
]

const DEPENDENCY: readonly Field[] = [
  { key: 'name', type: 'string', sanitized: true, always: true },
  { key: 'version', type: 'string', sanitized: true },
  { key: 'repository', type: 'string', sanitized: true, always: true },
  { key: 'condition', type: 'string', sanitized: true },
  { key: 'tags', type: 'strings', sanitized: true },
  { key: 'enabled', type: 'bool' },
  { key: 'import-values', type: 'values' },
  { key: 'alias', type: 'string' }
]

/** What a struct holds, in its marshal order; nested structs and Go maps are Maps too. */
export type Metadata = Map<string, unknown>

/** Chart.yaml's mapping as Helm's `chart.Metadata`; a value Helm cannot decode is an error naming `path`. */
export function readMetadata(document: Document, where: string): Metadata {
  return new MetadataReader(document, where).struct(document.contents as Node, METADATA, '')
}

/** A struct as Go's encoding/json writes it: no spaces, `<`, `>`, `&`, U+2028, U+2029 escaped. */
export function marshal(value: unknown): string {
  if (value instanceof Map) {
    return `{${[...(value as Map<string, unknown>)].map(([key, item]) => `${marshal(key)}:${marshal(item)}`).join(',')}}`
  }
  if (Array.isArray(value)) return `[${value.map(marshal).join(',')}]`
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Helm's sanitizeString: whitespace becomes a space, characters that do not print are dropped. */
export function sanitize(text: string): string {
  return text.replace(/\p{White_Space}/gu, ' ').replace(/[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu, '')
}

/** go-yaml v2 (YAML 1.1, which Helm's sigs.k8s.io/yaml reads with) resolves these plain scalars as booleans. */
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'])
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'])

/** Go's map keys are sorted by their UTF-8 bytes. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

class MetadataReader {
  constructor(
    private readonly document: Document,
    private readonly where: string
  ) {}

  struct(node: Node, fields: readonly Field[], at: string): Metadata {
    if (!isMap(node)) throw this.wrong(at || 'the document', node, 'a mapping')
    const out: Metadata = new Map()
    for (const field of fields) {
      const value = this.value(node.get(field.key, true), field, at ? `${at}.${field.key}` : field.key)
      if (value !== undefined) out.set(field.key, value)
      else if (field.always) out.set(field.key, '')
    }
    return out
  }

  /** The field's value, or undefined where Go's `omitempty` leaves it out (a zero value). */
  private value(found: Node | undefined, field: Field, at: string): unknown {
    const node = this.resolve(found)
    if (node === undefined) return undefined
    switch (field.type) {
      case 'string': {
        const text = this.text(node, at, field.sanitized)
        return text === '' ? undefined : text
      }
      case 'strings':
        return nonEmpty(this.items(node, at).map((item, i) => this.text(item, `${at}[${i}]`, field.sanitized)))
      case 'bool':
        return this.bool(node, at) || undefined
      case 'stringMap':
        return this.stringMap(node, at)
      case 'values':
        return nonEmpty(this.items(node, at).map((item, i) => this.plain(item, `${at}[${i}]`)))
      case 'maintainers':
      case 'dependencies': {
        const fields = field.type === 'maintainers' ? MAINTAINER : DEPENDENCY
        return nonEmpty(
          this.items(node, at).map((item, i) => {
            if (item === undefined) throw new InputError('path', `${this.where}: ${at}[${i}] is empty; Helm refuses empty ${field.key}`)
            return this.struct(item, fields, `${at}[${i}]`)
          })
        )
      }
    }
  }

  /** Aliases followed; a null scalar is no value at all, as JSON null leaves a Go field at zero. */
  private resolve(node: Node | undefined): Node | undefined {
    const target = isAlias(node) ? (node.resolve(this.document) as Node | undefined) : node
    if (target === undefined || target === null || (isScalar(target) && target.value === null)) return undefined
    return target
  }

  /** A scalar's text as written: `1.10` stays "1.10", `true` is "true". */
  private text(node: Node | undefined, at: string, sanitized = false): string {
    if (node === undefined) return ''
    if (!isScalar(node)) throw this.wrong(at, node, 'a string')
    const text = node.source ?? String(node.value)
    return sanitized ? sanitize(text) : text
  }

  private bool(node: Node, at: string): boolean {
    if (isScalar(node)) {
      if (typeof node.value === 'boolean') return node.value
      if (node.type === 'PLAIN' && YAML11_TRUE.has(String(node.source))) return true
      if (node.type === 'PLAIN' && YAML11_FALSE.has(String(node.source))) return false
    }
    throw this.wrong(at, node, 'true or false')
  }

  private items(node: Node, at: string): Array<Node | undefined> {
    if (!isSeq(node)) throw this.wrong(at, node, 'a list')
    return node.items.map((item) => this.resolve(item as Node))
  }

  private stringMap(node: Node, at: string): Map<string, string> | undefined {
    if (!isMap(node)) throw this.wrong(at, node, 'a mapping of strings')
    const entries = node.items.map((pair): [string, string] => {
      const key = this.text(this.resolve(pair.key as Node), `${at} key`)
      return [key, this.text(this.resolve(pair.value as Node), `${at}.${key}`)]
    })
    return entries.length > 0 ? new Map(entries.sort(([a], [b]) => byBytes(a, b))) : undefined
  }

  /** A value Helm keeps as `interface{}`: its JSON value, maps with sorted keys. */
  private plain(node: Node | undefined, at: string): unknown {
    if (node === undefined) return null
    if (isSeq(node)) return node.items.map((item, i) => this.plain(this.resolve(item as Node), `${at}[${i}]`))
    if (isMap(node)) {
      const entries = node.items.map((pair): [string, unknown] => {
        const key = this.text(this.resolve(pair.key as Node), `${at} key`)
        return [key, this.plain(this.resolve(pair.value as Node), `${at}.${key}`)]
      })
      return new Map(entries.sort(([a], [b]) => byBytes(a, b)))
    }
    if (!isScalar(node)) throw this.wrong(at, node, 'a value')
    if (typeof node.value === 'number' && !Number.isFinite(node.value)) throw this.wrong(at, node, 'a finite number')
    return typeof node.value === 'bigint' ? Number(node.value) : node.value
  }

  private wrong(at: string, node: Node | undefined, expected: string): InputError {
    const found = isMap(node) ? 'a mapping' : isSeq(node) ? 'a list' : isScalar(node) ? `"${String(node.source ?? node.value)}"` : 'empty'
    return new InputError('path', `${this.where}: ${at} is ${found}, where Helm's chart metadata needs ${expected}`)
  }
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined
}
