import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { clientAddress, noTrust, parseNetwork } from "../../../src/internal/http/clientAddress.js"
import type { Trust } from "../../../src/internal/http/clientAddress.js"

const hops = (n: number): Trust => ({ _tag: "Hops", hops: n })
const networks = (...ranges: Array<string>): Trust => ({ _tag: "Networks", networks: ranges.map((r) => parseNetwork(r)!) })
const peer = (address: string) => Option.some(address)

describe("clientAddress", () => {
  it("without trust, the socket's peer whatever X-Forwarded-For says", () => {
    expect(clientAddress(peer("192.0.2.1"), "6.6.6.6", noTrust)).toBe("192.0.2.1")
    expect(clientAddress(peer("::ffff:127.0.0.1"), undefined, noTrust)).toBe("127.0.0.1")
    expect(clientAddress(Option.none(), "6.6.6.6", noTrust)).toBe("unknown")
  })

  it("n hops: the entry n from the right, the leftmost when there are fewer", () => {
    const header = "6.6.6.6, 198.51.100.7, 10.0.0.2"
    expect(clientAddress(peer("10.0.0.1"), header, hops(1))).toBe("10.0.0.2")
    expect(clientAddress(peer("10.0.0.1"), header, hops(2))).toBe("198.51.100.7")
    expect(clientAddress(peer("10.0.0.1"), header, hops(9))).toBe("6.6.6.6")
    expect(clientAddress(peer("10.0.0.1"), undefined, hops(1))).toBe("10.0.0.1")
  })

  it("n hops: an entry that is not an address stops at the last trusted hop", () => {
    expect(clientAddress(peer("10.0.0.1"), "6.6.6.6, unknown", hops(2))).toBe("10.0.0.1")
    expect(clientAddress(peer("10.0.0.1"), "unknown, 198.51.100.7", hops(2))).toBe("198.51.100.7")
  })

  it("networks: headers count only when the socket is a trusted proxy", () => {
    expect(clientAddress(peer("203.0.113.5"), "6.6.6.6", networks("10.0.0.0/8"))).toBe("203.0.113.5")
  })

  it("networks: walks from the right past trusted proxies to the first other address", () => {
    const trust = networks("10.0.0.0/8", "2001:db8::/32")
    expect(clientAddress(peer("10.0.0.1"), "6.6.6.6, 198.51.100.7, 10.9.9.9", trust)).toBe("198.51.100.7")
    expect(clientAddress(peer("::ffff:10.0.0.1"), "198.51.100.7, [2001:db8::1]", trust)).toBe("198.51.100.7")
    expect(clientAddress(peer("10.0.0.1"), "10.1.1.1, 10.2.2.2", trust)).toBe("10.1.1.1")
    expect(clientAddress(peer("10.0.0.1"), "198.51.100.7:4711", trust)).toBe("198.51.100.7")
  })

  it("parseNetwork: addresses, CIDR ranges, IPv4-mapped ranges; nothing else", () => {
    expect(parseNetwork("10.0.0.1")?.prefixLength).toBe(32)
    expect(parseNetwork("::1")?.prefixLength).toBe(128)
    expect(parseNetwork("::ffff:10.0.0.0/104")?.prefixLength).toBe(8)
    expect([parseNetwork("10.0.0.0/33"), parseNetwork("proxy.internal"), parseNetwork("")]).toEqual([undefined, undefined, undefined])
  })
})
