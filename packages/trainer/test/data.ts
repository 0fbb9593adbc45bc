import { type ImageSplit, loadMnist, subset } from '@gradsign/datasets';

let cached: Promise<{ train: ImageSplit; test: ImageSplit }> | undefined;

/** The embedded MNIST, loaded once per test file: the first 10,000 training and 1,000 test images. */
export function smallMnist(): Promise<{ train: ImageSplit; test: ImageSplit }> {
  cached ??= loadMnist({ verifyChecksums: false }).then((m) => ({
    train: subset(m.train, 10_000),
    test: subset(m.test, 1_000),
  }));
  return cached;
}
