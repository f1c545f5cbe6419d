/**
 * The client address of a request, honouring a configured proxy trust and nothing else.
 *
 * `X-Forwarded-For` is a list anyone can write: a client sends `X-Forwarded-For: 1.2.3.4`
 * and every proxy on the way appends the address it saw. Only the entries appended by proxies
 * we run are facts, so the list is read from the right, one hop per trusted proxy, starting
 * from the socket's peer. Without a trust setting the socket's peer is the answer, whatever
 * the headers say.
 */
import { Option, Result } from "effect"
import { IpNetwork, NetAddress } from "effect/net"

/** `hops`: that many proxies in front of us; `networks`: any address in them is a proxy. */
export type Trust =
  | { readonly _tag: "None" }
  | { readonly _tag: "Hops"; readonly hops: number }
  | { readonly _tag: "Networks"; readonly networks: ReadonlyArray<IpNetwork.IpNetwork> }

export const noTrust: Trust = { _tag: "None" }

/** An address, or an address range in CIDR notation; undefined when it is neither. */
export const parseNetwork = (input: string): IpNetwork.IpNetwork | undefined => {
  const text = input.trim()
  if (text.includes("/")) {
    const network = IpNetwork.fromString(text)
    if (Result.isFailure(network)) return undefined
    // `::ffff:10.0.0.0/104` and `10.0.0.0/8` name the same proxies: addresses are compared
    // in canonical (IPv4) form, so the network is too
    const canonical = NetAddress.toCanonical(network.success.address)
    if (canonical === network.success.address) return network.success
    const prefix = network.success.prefixLength - 96
    const mapped = IpNetwork.fromAddress(canonical, Math.max(prefix, 0))
    return Result.isSuccess(mapped) ? mapped.success : undefined
  }
  const address = parseAddress(text)
  if (address === undefined) return undefined
  const single = IpNetwork.fromAddress(address, NetAddress.width(address))
  return Result.isSuccess(single) ? single.success : undefined
}

/** An IP address as proxies and sockets write it: bare, `[v6]`, or with a port. Canonical. */
export const parseAddress = (input: string | undefined): NetAddress.IpAddress | undefined => {
  if (input === undefined) return undefined
  const text = input.trim()
  if (text === "") return undefined
  const ip = NetAddress.ipFromString(text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text)
  if (Result.isSuccess(ip)) return NetAddress.toCanonical(ip.success)
  const inet = NetAddress.inetAddressFromString(text)
  return Result.isSuccess(inet) ? NetAddress.toCanonical(inet.success.address) : undefined
}

const isTrusted = (networks: ReadonlyArray<IpNetwork.IpNetwork>, address: NetAddress.IpAddress): boolean => {
  for (const network of networks) {
    if (NetAddress.width(network.address) === NetAddress.width(address) && IpNetwork.contains(network, address)) {
      return true
    }
  }
  return false
}

const forwardedList = (header: string | undefined): Array<string> =>
  header === undefined
    ? []
    : header
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "")

/**
 * The client address: the socket's peer (`peer`), or, under `trust`, the address that many
 * hops (or the first untrusted one) back in `forwardedFor`. An entry that is not an address
 * stops the walk at the last trusted hop: what a trusted proxy wrote is taken as written, and
 * we never skip past it to an entry the client could have written.
 */
export const clientAddress = (peer: Option.Option<string>, forwardedFor: string | undefined, trust: Trust): string => {
  const raw = Option.getOrUndefined(peer)
  const socket = parseAddress(raw)
  const socketKey = socket === undefined ? (raw ?? "unknown") : NetAddress.formatIp(socket)
  if (trust._tag === "None" || socket === undefined) return socketKey
  const entries = forwardedList(forwardedFor)
  if (trust._tag === "Hops") {
    let current = socketKey
    for (let hop = 1; hop <= trust.hops && hop <= entries.length; hop++) {
      const address = parseAddress(entries[entries.length - hop])
      if (address === undefined) return current
      current = NetAddress.formatIp(address)
    }
    return current
  }
  if (!isTrusted(trust.networks, socket)) return socketKey
  let current = socket
  for (let index = entries.length - 1; index >= 0; index--) {
    const address = parseAddress(entries[index])
    if (address === undefined) return NetAddress.formatIp(current)
    current = address
    if (!isTrusted(trust.networks, current)) return NetAddress.formatIp(current)
  }
  return NetAddress.formatIp(current)
}
