import { NEVER, type Observable } from 'rxjs';

import type { ApplicationOverQuic } from '../../src/application/ApplicationOverQuic';
import { napi, type QuicheConnection } from '../../src/native/binding';

/**
 * A hand-driven HTTP/3 client for specs that need to break the protocol or send what our own
 * client would not: it opens quiche's HTTP/3 layer, hands every polled event to {@link onEvent},
 * and calls {@link sendOnce} on its first write turn.
 */
export abstract class RawH3Client implements ApplicationOverQuic {
  protected h3: napi.H3Connection | null = null;
  private sent = false;

  /** Writes what the spec sends, once. */
  protected abstract sendOnce(qconn: QuicheConnection, h3: napi.H3Connection): void;

  /** Sees each HTTP/3 event the server's answers produce. Defaults to ignoring them. */
  protected onEvent(_event: napi.H3Event): void {}

  onConnEstablished(qconn: QuicheConnection): void {
    this.h3 = napi.H3Connection.withTransport(qconn, new napi.H3Config());
  }
  shouldAct(): boolean {
    return this.h3 !== null;
  }
  waitForData(): Observable<never> {
    return NEVER;
  }
  processReads(qconn: QuicheConnection): void {
    try {
      for (let e = this.h3!.poll(qconn); e !== null; e = this.h3!.poll(qconn)) this.onEvent(e);
    } catch {
      // The server closed the connection; its close is what the spec checks.
    }
  }
  processWrites(qconn: QuicheConnection): void {
    if (this.sent) return;
    this.sent = true;
    this.sendOnce(qconn, this.h3!);
  }
}
