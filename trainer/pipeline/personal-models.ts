/**
 * The names `--personal` accepts, apart from the models themselves: `train`'s command line checks them
 * before it loads TF.js and the training code (about a second), so a usage error or `--help` is quick.
 */

/** The personal models `--personal` accepts. */
export const PERSONAL_MODELS = ['auto', 'ease', 'autoencoder', 'item-item'] as const;
/** One of PERSONAL_MODELS. */
export type PersonalModel = (typeof PERSONAL_MODELS)[number];

/** Whether `value` names a personal model. */
export function isPersonalModel(value: string): value is PersonalModel {
  return (PERSONAL_MODELS as readonly string[]).includes(value);
}
