import type { Binding, BindingPort, PortInfo } from '../../drivers/binding/binding.js';
import { TcpBinding, type TcpOpenOptions } from '../../drivers/binding/tcp-binding.js';

/** A TcpBinding that logs what the driver does, in order: `open <path>`, `write <path> <text>`. */
export class SpyTcpBinding implements Binding<TcpOpenOptions> {
  readonly kind = 'tcp' as const;
  readonly log: string[] = [];
  private readonly inner = new TcpBinding();

  list(): Promise<PortInfo[]> {
    return this.inner.list();
  }

  async open(options: TcpOpenOptions): Promise<BindingPort> {
    this.log.push(`open ${options.path}`);
    const port = await this.inner.open(options);
    const log = this.log;
    return {
      get path() {
        return port.path;
      },
      get isOpen() {
        return port.isOpen;
      },
      read: (b, o, l) => port.read(b, o, l),
      write: (data) => {
        log.push(`write ${options.path} ${Buffer.from(data).toString('latin1')}`);
        return port.write(data);
      },
      close: () => port.close(),
      setLowLatency: () => port.setLowLatency(),
      flush: () => port.flush(),
    };
  }
}
