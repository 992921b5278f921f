/**
 * The parts of a connection worker other than quiche, as recording fakes, for the marble specs of
 * `IoWorker`, `InitialQuicConnection` and `applicationOverQuic`.
 *
 * Everything records into one call log shared with the {@link FakeQuicheConnection}, so a spec can
 * assert the order of quiche calls, application callbacks and router updates in one list.
 * Application callbacks are logged as `app.<name>`, router updates as `map` / `unmap`.
 */
import { asapScheduler, asyncScheduler, NEVER, type Observable, type ObservableInput, type SchedulerLike } from 'rxjs';

import type { ApplicationOverQuic, ConnectionResult } from '../../src/application/ApplicationOverQuic';
import type { ConnectionShutdownBehaviour } from '../../src/connection/ConnectionShutdownBehaviour';
import { HandshakeInfo } from '../../src/connection/HandshakeInfo';
import { InitialQuicConnection } from '../../src/connection/InitialQuicConnection';
import { IoWorker, type ConnectionIdRegistry } from '../../src/connection/IoWorker';
import { DefaultMetrics } from '../../src/metrics/DefaultMetrics';
import type { Metrics } from '../../src/metrics/Metrics';
import { ConnectionInbox } from '../../src/router/ConnectionInbox';
import type { ConnectionIdGenerator } from '../../src/router/ConnectionIdGenerator';
import type { Incoming } from '../../src/socket/Incoming';
import { FakeDatagramSender } from '../../src/testing/FakeDatagramSender';
import { FAKE_LOCAL_ADDRESS, FAKE_PEER_ADDRESS } from '../../src/testing/fakeIncoming';
import {
  FakeQuicheConnection,
  type FakeCall,
  type FakeQuicheConnectionOptions,
} from '../../src/testing/FakeQuicheConnection';

/** The callbacks of an ApplicationOverQuic. */
export type AppCallback = 'onConnEstablished' | 'shouldAct' | 'waitForData' | 'processReads' | 'processWrites' | 'onConnClose';

/**
 * An ApplicationOverQuic that records its callbacks and can be told to act, wait or throw.
 */
export class FakeApplication implements ApplicationOverQuic<FakeQuicheConnection> {
  /** What `shouldAct()` returns. */
  acting = true;
  /** Makes what each `waitForData()` call returns. Defaults to `NEVER`. */
  wait: () => ObservableInput<unknown> = () => NEVER;
  /** Extra behaviour run inside a callback, after it is recorded (may throw). */
  readonly on: Partial<Record<Exclude<AppCallback, 'shouldAct' | 'waitForData'>, (conn: FakeQuicheConnection) => void>> = {};
  /** The `HandshakeInfo` given to `onConnEstablished`. */
  handshakeInfo: HandshakeInfo | null = null;
  /** Each result given to `onConnClose`. */
  readonly closeResults: ConnectionResult[] = [];

  constructor(
    readonly calls: FakeCall[] = [],
    private readonly now: () => number = () => asyncScheduler.now(),
  ) {}

  onConnEstablished(conn: FakeQuicheConnection, handshakeInfo: HandshakeInfo): void {
    this.record('onConnEstablished');
    this.handshakeInfo = handshakeInfo;
    this.on.onConnEstablished?.(conn);
  }

  shouldAct(): boolean {
    this.record('shouldAct');
    return this.acting;
  }

  waitForData(): ObservableInput<unknown> {
    this.record('waitForData');
    return this.wait();
  }

  /** What `processReads()` returns: `false` tells the worker the packets gave it nothing. */
  reads: boolean | undefined = undefined;

  processReads(conn: FakeQuicheConnection): boolean | void {
    this.record('processReads');
    this.on.processReads?.(conn);
    return this.reads;
  }

  processWrites(conn: FakeQuicheConnection): void {
    this.record('processWrites');
    this.on.processWrites?.(conn);
  }

  onConnClose(conn: FakeQuicheConnection, _metrics: Metrics, result: ConnectionResult): void {
    this.record('onConnClose', [result]);
    this.closeResults.push(result);
    this.on.onConnClose?.(conn);
  }

  private record(name: AppCallback, args: unknown[] = []): void {
    this.calls.push({ method: `app.${name}`, args, at: this.now() });
  }
}

/**
 * Connection IDs `c1c1…`, `c2c2…`, … of a fixed length, so specs can name them.
 */
export class SequenceCidGenerator implements ConnectionIdGenerator {
  private next = 0xc1;

  constructor(readonly length = 8) {}

  newConnectionId(): Uint8Array {
    return Buffer.alloc(this.length, this.next++);
  }

  verifyConnectionId(): void {}
}

/**
 * A {@link ConnectionIdRegistry} that records `map` / `unmap` in the shared log (with the CID in
 * hex) and keeps the set of mapped IDs.
 */
export class FakeCidRegistry implements ConnectionIdRegistry {
  /** The mapped IDs, in hex. */
  readonly mapped = new Set<string>();

  constructor(
    readonly calls: FakeCall[],
    readonly generator?: ConnectionIdGenerator,
    readonly pendingCid?: Uint8Array,
    private readonly now: () => number = () => asyncScheduler.now(),
  ) {}

  map(cid: Uint8Array): void {
    const hex = Buffer.from(cid).toString('hex');
    this.calls.push({ method: 'map', args: [hex], at: this.now() });
    this.mapped.add(hex);
  }

  unmap(cid: Uint8Array): void {
    const hex = Buffer.from(cid).toString('hex');
    this.calls.push({ method: 'unmap', args: [hex], at: this.now() });
    this.mapped.delete(hex);
  }
}

/** What {@link fakeWorker} builds. */
export interface FakeWorkerOptions {
  /** The connection's packets. */
  readonly packet$: Observable<Incoming>;
  /** How the fake connection starts. Defaults to established. */
  readonly conn?: FakeQuicheConnectionOptions;
  /** The handshake timeout, in ms from the start. */
  readonly handshakeTimeout?: number;
  readonly pauseAfterHandshake?: boolean;
  readonly shutdownBehaviour?: ConnectionShutdownBehaviour;
  /** Gives the registry a generator (servers issue spare source IDs). */
  readonly generator?: ConnectionIdGenerator;
  /** The client's original DCID, for the registry. */
  readonly pendingCid?: Uint8Array;
  readonly sendBufferSize?: number;
  /** `false`: a server whose client has not proven its address (the 3× limit applies). */
  readonly addressValidated?: boolean;
  /** Where the end-of-turn flush runs. Defaults to `asapScheduler` (virtual time). */
  readonly flushScheduler?: SchedulerLike;
}

/** A worker over fakes, and the fakes. */
export interface FakeWorker {
  readonly worker: IoWorker<FakeQuicheConnection>;
  readonly conn: FakeQuicheConnection;
  readonly app: FakeApplication;
  readonly sender: FakeDatagramSender;
  readonly metrics: DefaultMetrics;
  readonly cids: FakeCidRegistry;
  readonly handshakeInfo: HandshakeInfo;
  /** The shared call log of the connection, the application and the registry. */
  readonly calls: FakeCall[];
}

/**
 * Builds an IoWorker over a FakeQuicheConnection, a FakeApplication, a FakeDatagramSender and a
 * FakeCidRegistry sharing one call log. Call it inside `testScheduler.run` so the clock is virtual.
 */
export function fakeWorker(options: FakeWorkerOptions): FakeWorker {
  const calls: FakeCall[] = [];
  const conn = new FakeQuicheConnection({ established: true, calls, ...options.conn });
  const app = new FakeApplication(calls);
  const sender = new FakeDatagramSender();
  const metrics = new DefaultMetrics();
  const cids = new FakeCidRegistry(calls, options.generator, options.pendingCid);
  const handshakeInfo = new HandshakeInfo(asyncScheduler.now(), options.handshakeTimeout);
  const worker = new IoWorker<FakeQuicheConnection>({
    conn,
    packet$: options.packet$,
    sender,
    app,
    handshakeInfo,
    metrics,
    cids,
    // Steps and flushes in virtual time (the production defaults are a microtask and setImmediate).
    stepScheduler: asapScheduler,
    flushScheduler: options.flushScheduler ?? asapScheduler,
    ...(options.pauseAfterHandshake !== undefined ? { pauseAfterHandshake: options.pauseAfterHandshake } : {}),
    ...(options.shutdownBehaviour ? { shutdownBehaviour: options.shutdownBehaviour } : {}),
    ...(options.sendBufferSize !== undefined ? { sendBufferSize: options.sendBufferSize } : {}),
    ...(options.addressValidated !== undefined ? { addressValidated: options.addressValidated } : {}),
  });
  return { worker, conn, app, sender, metrics, cids, handshakeInfo, calls };
}

/** What {@link fakeInitialConnection} builds. */
export interface FakeInitialConnection {
  readonly iqc: InitialQuicConnection;
  readonly conn: FakeQuicheConnection;
  /** Deliver the connection's packets here, as the router would. */
  readonly inbox: ConnectionInbox;
  readonly sender: FakeDatagramSender;
  readonly metrics: DefaultMetrics;
  /** Holds the connection's first SCID and {@link FAKE_PENDING_CID}, mapped as by the acceptor. */
  readonly cids: FakeCidRegistry;
  readonly calls: FakeCall[];
  /** How many times the backlog slot was claimed. */
  claims(): number;
}

/** The client's original DCID that {@link fakeInitialConnection} maps. */
export const FAKE_PENDING_CID = Buffer.alloc(8, 0xdd);

/**
 * An InitialQuicConnection over fakes, as the acceptor would build it: its SCID and the client's
 * original DCID mapped, its inbox empty. Call it inside `testScheduler.run` for a virtual clock.
 */
export function fakeInitialConnection(
  options: { conn?: FakeQuicheConnectionOptions; keepAlive$?: Observable<unknown> } = {},
): FakeInitialConnection {
  const calls: FakeCall[] = [];
  const conn = new FakeQuicheConnection({ calls, ...options.conn });
  const inbox = new ConnectionInbox();
  const sender = new FakeDatagramSender();
  const metrics = new DefaultMetrics();
  const cids = new FakeCidRegistry(calls, undefined, FAKE_PENDING_CID);
  cids.mapped.add(conn.sourceIds()[0]!.toString('hex')).add(FAKE_PENDING_CID.toString('hex'));
  conn.clearCalls();
  let claims = 0;
  const iqc = new InitialQuicConnection({
    conn,
    inbox,
    sender,
    localAddr: FAKE_LOCAL_ADDRESS,
    peerAddr: FAKE_PEER_ADDRESS,
    handshakeInfo: new HandshakeInfo(asyncScheduler.now()),
    metrics,
    cids,
    keepAlive$: options.keepAlive$ ?? NEVER,
    onClaim: () => claims++,
    stepScheduler: asapScheduler,
    flushScheduler: asapScheduler,
  });
  return { iqc, conn, inbox, sender, metrics, cids, calls, claims: () => claims };
}
