"""Views of one run for a person: ``show`` (overview), ``export`` (per-sample table),
``gallery`` (the faces with GT and prediction drawn). Read from run files alone, except the
gallery, which reads the images again from the data root."""
